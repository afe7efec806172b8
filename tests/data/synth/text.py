"""Benign filler text: prose, meeting notes, changelogs, reports - the bulk a Drive holds."""

from __future__ import annotations

from tests.data.synth.pools import Pools

NOUNS = ["guideline", "reviewer", "dataset", "workflow", "quality score", "label schema", "pipeline", "customer",
         "annotation tool", "audit", "calibration session", "edge case", "benchmark", "rollout", "budget",
         "training plan", "vendor", "timeline", "process", "policy", "team", "model", "release", "metric",
         "consensus step", "gold set", "queue", "taxonomy", "escalation path", "sampling plan", "throughput target"]
VERBS = ["improves", "requires", "reduces", "supports", "replaces", "depends on", "clarifies", "measures",
         "tracks", "documents", "extends", "simplifies", "delays", "accelerates", "validates", "informs",
         "shapes", "limits"]
ADJ = ["consistent", "reliable", "scalable", "new", "updated", "shared", "weekly", "quarterly", "manual",
       "automated", "regional", "internal", "clear", "careful", "robust", "simple", "detailed", "revised",
       "smaller", "stricter"]
OPENERS = ["In practice,", "As a rule,", "This quarter,", "Going forward,", "Where possible,", "In short,",
           "For every project,", "Over time,", "To be clear,", "In most cases,", "Since the last review,",
           "Before launch,", "After the pilot,", "By default,", "For now,"]
HEADINGS = ["Purpose", "Scope", "Responsibilities", "Background", "Process", "Review", "Exceptions",
            "Training", "Quality", "Next steps", "Timeline", "Risks", "Summary", "Appendix", "Open questions",
            "Decisions", "Lessons learned", "Metrics"]
PRODUCTS = ["Label Studio", "Amazon SageMaker Ground Truth", "Google Cloud Vertex AI", "Microsoft Excel",
            "Jira Service Management", "Slack Enterprise Grid", "Notion AI", "Adobe Acrobat Pro", "Apple Vision Pro",
            "Tableau Desktop", "Snowflake Data Cloud", "Databricks Lakehouse", "Power BI", "Scale Rapid",
            "Figma Dev Mode", "GitHub Copilot", "Zoom Workplace", "Salesforce Service Cloud", "Atlassian Confluence",
            "Dropbox Business", "Sheets Connected", "Prodigy Teams", "Toloka Cloud", "Kili Technology"]
FIRST_NAMES = ["Amara", "Tomasz", "Chen", "Lucia", "Kwame", "Priya", "Diego", "Sofia", "Jonas", "Hannah",
               "Pieter", "Marie", "Oliver", "Grace", "Samuel", "Ines", "Rafael", "Nadia", "Marcus", "Eleanor",
               "Ahmed", "Olivia", "Ethan", "Mia", "Noah", "Yuki", "Fatima", "Lars", "Kofi", "Aisha"]


def sentence(p: Pools) -> str:
    rng = p.rng
    s = f"{rng.choice(OPENERS)} the {rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.choice(VERBS)} the {rng.choice(NOUNS)}"
    r = rng.random()
    if r < 0.15:
        s += f" by {rng.randint(2, 60)}% within {rng.randint(2, 12)} weeks"
    elif r < 0.25:
        s += f" for the {rng.choice(ADJ)} {rng.choice(NOUNS)} in version {rng.randint(1, 9)}.{rng.randint(0, 20)}"
    elif r < 0.32:
        s += f", as {rng.choice(FIRST_NAMES)} noted in the last review"
    elif r < 0.38:
        s += f" (see ticket {rng.choice(['LAB', 'OPS', 'QA'])}-{rng.randint(100, 9999)})"
    return s + "."


def prose(p: Pools, size: int, heading: str = "") -> str:
    rng = p.rng
    out: list[str] = [heading] if heading else []
    n = len(heading)
    while n < size:
        para = " ".join(sentence(p) for _ in range(rng.randint(3, 8)))
        if rng.random() < 0.15:
            para = f"{rng.randint(1, 12)}. {rng.choice(HEADINGS)}\n\n{para}"
        out.append(para)
        n += len(para) + 2
    return "\n\n".join(out)


def meeting_notes(p: Pools, size: int, names: list[str] | None = None) -> str:
    rng = p.rng
    out = []
    n = 0
    pool = names or FIRST_NAMES
    while n < size:
        date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        who = ", ".join(rng.sample(pool, min(4, len(pool))))
        items = "\n".join(f"- {rng.choice(pool)} to follow up on the {rng.choice(NOUNS)} ({rng.choice(ADJ)})"
                          for _ in range(rng.randint(2, 6)))
        block = f"Meeting {date}\nAttendees: {who}\n\n{prose(p, rng.randint(200, 700))}\n\nActions:\n{items}"
        out.append(block)
        n += len(block) + 2
    return "\n\n".join(out)


def changelog(p: Pools, size: int) -> str:
    rng = p.rng
    out = []
    n = 0
    minor = 0
    while n < size:
        minor += 1
        date = f"20{rng.randint(19, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines = [f"## 2.{minor}.0 ({date})", ""]
        for _ in range(rng.randint(3, 9)):
            lines.append(f"- {rng.choice(VERBS).capitalize()} {rng.choice(NOUNS)} handling "
                         f"(#{rng.randint(100, 9999)}, commit {rng.getrandbits(40):010x})")
        out.append("\n".join(lines))
        n += len(out[-1]) + 2
    return "\n\n".join(out)


def report_rows(p: Pools, n: int) -> list[list[str]]:
    rng = p.rng
    rows = [["Region", "Quarter", "Orders", "Revenue", "Growth"]]
    for _ in range(n):
        rows.append([rng.choice(["EMEA", "APAC", "AMER", "LATAM"]), f"Q{rng.randint(1, 4)} 2024",
                     str(rng.randint(100, 99_999)), f"{rng.randint(10_000, 9_999_999)}",
                     f"{rng.randint(-20, 99)}.{rng.randint(0, 9)}%"])
    return rows
