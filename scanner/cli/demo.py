"""``sharescan demo``: the whole story against the bundled emulator (see scanner/demo.py)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from scanner.cli.progress import rich_scan_progress
from scanner.cli.render import dumps, make_console, render
from scanner.cli.scan import summary_line


@click.command()
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("sharescan-demo"),
              show_default=True, help="Folder for the demo database, keys, report and exports (recreated).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
def demo(output: Path, fmt: str) -> None:
    """Run the whole story on a sample workspace: start the bundled Google emulator, scan it with
    remediation enforced, show the findings and the revoked links, write the HTML report and the
    exports. Needs no Google account, no config file and no network."""
    from scanner.demo import EXPORT_FORMATS, run_demo

    console = make_console(stderr=fmt == "json")
    if fmt == "table":
        console.rule("[bold]sharescan demo[/bold]: Tessera Labeling runs client projects in Google Drive")
        console.print("Starting the bundled Google Workspace emulator with the demo workspace, "
                      "then a full scan with remediation [bold]enforced[/bold]…")
    show = sys.stderr.isatty() and fmt == "table"
    with rich_scan_progress(console) if show else nullcontext() as progress:
        result = run_demo(output, progress=progress)

    if fmt == "json":
        click.echo(dumps({
            "output": str(result.output), "scan": result.scan.as_dict(), "findings": result.findings,
            "sharing_changes": result.sharing_changes, "needs_a_person": result.needs_a_person,
            "notifications": result.notifications, "webhook_messages": result.webhook_messages,
            "breach_candidates": result.breach_candidates,
            "report": str(result.report_path),
            "settings_to_change": result.settings_to_change,
            "export_dir": str(result.export_dir), "export_files": result.export_files,
            "manifest_verified": result.manifest_verified, "elapsed_seconds": result.elapsed_seconds,
        }))
        return

    console.print(summary_line(result.scan))
    render(result.findings, ("id", "severity", "status", "rule", "file", "owner", "exposure", "data"), "table",
           title="Findings", console=console)
    render(result.breach_candidates, ("file", "exposed_since", "days", "anonymous", "outside", "outside_domains",
                                      "by"), "table",
           title="Breach candidates: personal data exposed and reached from outside (Drive audit log; "
                 "GDPR Art. 33 clock)", console=console, empty="no breach candidates")
    render(result.sharing_changes, ("file", "change", "who", "role", "by"), "table",
           title="Sharing changed in Google Drive (as the emulator recorded it)", console=console,
           empty="no sharing was changed")
    render(result.notifications, ("to", "channel", "subject", "status"), "table",
           title=f"Owners told (one digest each; {result.webhook_messages} received by the demo's local webhook)",
           console=console, empty="no owner notifications")
    render(result.needs_a_person, ("action", "finding", "file", "what", "status", "why"), "table",
           title="Left for a person: inherited access, and rules with auto: false (`sharescan remediate --apply`)",
           console=console,
           empty="nothing left for a person")
    render(result.settings_to_change, ("setting", "org_unit", "findings", "cis", "scuba"), "table",
           title="The cause: Drive sharing settings to change first (findings each allowed; sharescan never "
                 "changes them)", console=console, empty="no failing sharing setting")
    console.print(f"\n[bold]HTML report[/bold]: {result.report_path}")
    kinds = ", ".join(EXPORT_FORMATS)
    console.print(f"[bold]Exports[/bold] ({kinds}): {result.export_dir}  — manifest signature and hashes "
                  f"{'[green]verified[/green]' if result.manifest_verified else '[red]NOT verified[/red]'}")
    console.print(f"[bold]Database[/bold]: {result.database_url}")
    console.print(f"\nDone in {result.elapsed_seconds:.1f}s. Next: open the report, or try "
                  f"`SHARESCAN_DATABASE_URL={result.database_url} sharescan findings list`.")


COMMANDS: list[click.Command] = [demo]
