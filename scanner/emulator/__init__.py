"""A Google Workspace emulator on 127.0.0.1 for tests, demos and benchmarks: Drive v3 (labels included),
Admin SDK Directory (users, groups, members, org units, domains) and Reports (the Drive audit log), the Cloud
Identity Policy API (Drive and Docs settings), the Drive Labels API v2, OAuth, and the discovery documents.

    from scanner.emulator import Emulator
    with Emulator(seed="demo") as emu:
        emu.endpoint                      # http://127.0.0.1:PORT  (SHARESCAN_GOOGLE_ENDPOINT)
        emu.write_key_file(path)          # service-account key JSON whose token_uri is the emulator
        emu.counters, emu.events          # calls per endpoint, permission/revision audit events
        emu.set_faults([FaultRule("drive.files.list", sequence=["429", "ok"])])
        emu.workspace                     # the state; mutate under emu.workspace.lock
        emu.workspace.audit.record_access(emu.workspace, file_id, "view", ANONYMOUS)  # audit history
        emu.settings.reports_lag_seconds = 600   # Reports API lag (default 0)
        emu.workspace.report_descendant_changes = False   # a folder's sharing change: the folder alone
                                                          # in the Changes feed (POST /_emulator/changes-mode)
"""

from .auth import ServiceAccountKey
from .faults import FaultPlan, FaultRule
from .handlers.common import Settings
from .seeds import build_seed
from .server import Emulator
from .state.audit import ANONYMOUS
from .state.workspace import Workspace

__all__ = ["ANONYMOUS", "Emulator", "FaultPlan", "FaultRule", "ServiceAccountKey", "Settings", "Workspace",
           "build_seed"]
