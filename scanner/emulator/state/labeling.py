"""Applying and removing Drive labels on files, as ``files.modifyLabels`` does.

:func:`modify` validates every modification before applying any, records the change in the Changes
feed (the file's version moves) and emits workspace events the audit log turns into ``label_added`` /
``label_field_changed`` / ``label_removed``.
"""

from __future__ import annotations

from typing import Any

from .labels import AppliedLabel, FieldKind, LabelState
from .mutate import MutationError, get_file, record_file_change
from .workspace import Workspace

_SETTERS = {"setSelectionValues": FieldKind.SELECTION, "setTextValues": FieldKind.TEXT,
            "setIntegerValues": FieldKind.INTEGER, "setDateValues": FieldKind.DATE, "setUserValues": FieldKind.USER}


def _invalid(message: str) -> MutationError:
    return MutationError(400, "invalid", message)


def modify(ws: Workspace, file_id: str, actor: str, modifications: list[dict[str, Any]]) -> list[AppliedLabel | str]:
    """Apply ``labelModifications`` (all validated before any is applied). Returns, per modification, the
    label as it now is on the file, or the id of a label that was removed."""
    f = get_file(ws, file_id)
    store = ws.labels
    on_file = dict(store.on_file(f.id))
    results: list[AppliedLabel | str] = []
    events: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for mod in modifications:
        label_id = str(mod.get("labelId") or "")
        label = store.labels.get(label_id)
        if label is None:
            raise _invalid(f"Invalid label: {label_id}")
        if mod.get("removeLabel"):
            if on_file.pop(label_id, None) is not None:
                events.append(("label.removed", {"title": label.title}, None))
            results.append(label_id)
            continue
        if label.state != LabelState.PUBLISHED:
            raise _invalid(f"The label {label_id} is not published and cannot be applied.")
        current = on_file.get(label_id)
        values = {k: list(v) for k, v in current.values.items()} if current else {}
        applied = AppliedLabel(label_id, label.revision_id, values)
        if current is None:
            events.append(("label.added", None, {"title": label.title}))
        for fm in mod.get("fieldModifications") or []:
            fdef = label.field(str(fm.get("fieldId") or ""))
            if fdef is None:
                raise _invalid(f"Invalid field: {fm.get('fieldId')} is not a field of label {label_id}.")
            old = ", ".join(applied.values.get(fdef.id, []))
            if fm.get("unsetValues"):
                applied.values.pop(fdef.id, None)
            else:
                setters = [k for k in _SETTERS if k in fm]
                if len(setters) != 1 or _SETTERS[setters[0]] != fdef.kind:
                    raise _invalid(f"Field {fdef.id} takes {fdef.kind} values.")
                new_values = [str(v) for v in fm[setters[0]]]
                if not new_values:
                    raise _invalid(f"No values given for field {fdef.id}.")
                if fdef.kind == FieldKind.SELECTION:
                    bad = [v for v in new_values if fdef.choice(v) is None]
                    if bad:
                        raise _invalid(f"Invalid choice {bad[0]} for field {fdef.id}.")
                    if len(new_values) > 1:
                        raise _invalid(f"Field {fdef.id} takes one value.")
                applied.values[fdef.id] = new_values
            events.append(("label.field_changed", {"title": label.title, "field": fdef.display_name, "value": old},
                           {"title": label.title, "field": fdef.display_name,
                            "value": ", ".join(applied.values.get(fdef.id, []))}))
        on_file[label_id] = applied
        results.append(applied)
    store.applied[f.id] = on_file
    record_file_change(ws, f.id)
    for kind, before, after in events:
        ws.new_event(kind, actor, f.id, before, after)
    return results
