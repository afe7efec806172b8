"""Generate the labelled detection corpus in tests/data/corpus/ (byte-identical on every run; committed).

Run: .venv/bin/python tests/data/make_corpus.py [OUT_DIR]
OOXML files (docx/xlsx/pptx) are rewritten after saving: fixed docProps/core.xml timestamps
(openpyxl stamps "modified" with the current time on save), fixed zip entry dates, attributes,
compression level and entry order ([Content_Types].xml first, then sorted), so
tests/detect/test_corpus_determinism.py can compare sha256 digests with the committed files.
All people, numbers and companies are invented. Hostile files (zip bombs, encrypted/truncated
PDFs, huge texts) are generated inside the tests at run time, not here.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

import yaml

OUT = Path(__file__).parent / "corpus"
FIXED = dt.datetime(2024, 1, 2, 3, 4, 5)
LABELS: dict[str, dict[str, object]] = {}


def label(name: str, sensitive: bool, detectors: list[str], entities: dict[str, int] | None = None,
          ner_only: bool = False) -> None:
    entry: dict[str, object] = {"sensitive": sensitive, "detectors": detectors}
    if entities:
        entry["entities"] = entities
    if ner_only:
        entry["needs_ner"] = True  # sensitivity rests on person names only NER can find
    LABELS[name] = entry


def write(name: str, data: bytes | str) -> Path:
    path = OUT / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


_CORE_TIMES = re.compile(r"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_zip(path: Path) -> None:
    """Rewrite an OOXML zip so that regeneration is byte-identical (see the module docstring)."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    names = sorted(src.namelist(), key=lambda n: (n != "[Content_Types].xml", n))
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
        for name in names:
            data = src.read(name)
            if name == "docProps/core.xml":
                data = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), data.decode("utf-8")).encode()
            zi = zipfile.ZipInfo(name, date_time=FIXED.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data, compresslevel=6)
    path.write_bytes(buf.getvalue())


def pdf_bytes(pages: list[str]) -> bytes:
    """A minimal valid PDF (Helvetica text) without third-party writers."""
    objs: list[bytes] = []
    kids = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    for i, text in enumerate(pages):
        page_id, content_id = 3 + 2 * i, 4 + 2 * i
        kids.append(f"{page_id} 0 R")
        lines = []
        for line in text.splitlines():
            esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            lines.append(f"({esc}) Tj T*")
        stream = ("BT /F1 10 Tf 12 TL 50 780 Td " + " ".join(lines) + " ET").encode("latin-1")
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    pages_obj = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode()
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    all_objs = [catalog, pages_obj, *objs, font]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(all_objs, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(all_objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(all_objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_file(name: str, paragraphs: list[str], table: list[list[str]] | None = None,
              header: str | None = None) -> None:
    import docx

    d = docx.Document()
    d.core_properties.created = FIXED
    d.core_properties.modified = FIXED
    if header:
        d.sections[0].header.paragraphs[0].text = header
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    path = OUT / name
    d.save(str(path))
    normalise_zip(path)


def xlsx_file(name: str, sheets: dict[str, list[list[object]]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    first = True
    for title, rows in sheets.items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append(row)
    path = OUT / name
    wb.save(str(path))
    normalise_zip(path)


def pptx_file(name: str, slides: list[tuple[str, str]], table: list[list[str]] | None = None) -> None:
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    prs.core_properties.created = FIXED
    prs.core_properties.modified = FIXED
    for title, body in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    if table:
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = "Team"
        shape = slide.shapes.add_table(len(table), len(table[0]), Inches(0.5), Inches(1.5), Inches(9), Inches(3))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                shape.table.cell(r, c).text = value
    path = OUT / name
    prs.save(str(path))
    normalise_zip(path)


def rtf(text: str) -> str:
    body = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}").replace("\n", "\\par\n")
    return "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0\\fs24 " + body + "}"


ROSTER = [
    ["Name", "Email", "Phone", "Hourly Rate"],
    ["Amara Okafor", "amara.okafor@gmail.com", "+1 415 867 2231", "$42"],
    ["Tomasz Wiśniewski", "t.wisniewski@outlook.com", "+1 628 904 2290", "$38"],
    ["Chen Wei", "chenwei88@yahoo.com", "+1 510 777 1123", "$40"],
    ["Lucía Fernández", "lucia.fdz@protonmail.com", "+1 312 448 9910", "$45"],
    ["Kwame Mensah", "kwame.mensah@gmail.com", "+1 646 203 7781", "$39"],
]


def sensitive_docs() -> None:
    csv_text = "\n".join(",".join(r) for r in ROSTER) + "\n"
    write("roster_labelers.csv", csv_text)
    label("roster_labelers.csv", True, ["contractor_roster", "contractor_pii", "pay_data"],
          {"EMAIL_ADDRESS": 5})

    write("roster_semicolon.csv", "\n".join(";".join(r[:3]) for r in ROSTER).replace("Name", "Contractor") + "\n")
    label("roster_semicolon.csv", True, ["contractor_roster"], {"EMAIL_ADDRESS": 5})

    write("roster_utf16.csv", ("\n".join(",".join(r) for r in ROSTER) + "\n").encode("utf-16"))
    label("roster_utf16.csv", True, ["contractor_roster", "pay_data"], {"EMAIL_ADDRESS": 5})

    write("sheets_export_roster.csv",
          "Annotator,Work email,Mobile,Country\n"
          "Priya Raman,priya.raman@fastmail.com,+44 7700 900123,UK\n"
          "Diego Alvarez,diego.alvarez@gmail.com,+44 7911 123456,UK\n"
          "Sofia Rossi,sofia.rossi@libero.it,+39 347 123 4567,IT\n"
          "Jonas Berg,jonas.berg@gmail.com,+46 70 123 45 67,SE\n")
    label("sheets_export_roster.csv", True, ["contractor_roster"], {"EMAIL_ADDRESS": 4})

    xlsx_file("roster_contractors.xlsx", {
        "Summary": [["Vendor payments Q3"], ["Prepared by finance"]],
        "Contractors": [["Full Name", "E-mail", "Day Rate", "IBAN"],
                        ["Hannah Schmidt", "hannah.schmidt@web.de", "€420", "DE44500105175407324931"],
                        ["Pieter de Vries", "pdevries@ziggo.nl", "€390", "NL91ABNA0417164300"],
                        ["Marie Dubois", "marie.dubois@orange.fr", "€410", "FR1420041010050500013M02606"],
                        ["Oliver Hughes", "oliver.hughes@btinternet.com", "£350", "GB29NWBK60161331926819"]],
    })
    label("roster_contractors.xlsx", True, ["contractor_roster", "bank_data", "pay_data"],
          {"EMAIL_ADDRESS": 4, "IBAN_CODE": 4})

    xlsx_file("pay_review.xlsx", {"2024": [["Employee", "Team", "Salary", "Proposed"],
                                          ["Grace Liu", "Platform", "$128,000", "$134,000"],
                                          ["Samuel Adeyemi", "Data", "$117,500", "$121,000"],
                                          ["Ines Carvalho", "Design", "$109,000", "$112,000"]]})
    label("pay_review.xlsx", True, ["pay_data"])

    docx_file("roster_table.docx", ["Labelling team for the Q4 sprint. Contact details below."],
              table=[r[:3] for r in ROSTER])
    label("roster_table.docx", True, ["contractor_roster"], {"EMAIL_ADDRESS": 5})

    pptx_file("roster_slide.pptx", [("Annotation vendor kickoff", "Goals, timeline and the team")],
              table=[r[:3] for r in ROSTER[:5]])
    label("roster_slide.pptx", True, ["contractor_roster"], {"EMAIL_ADDRESS": 4})

    docx_file("client_brief_halcyon.docx",
              ["Client: Halcyon Motors", "Engagement brief for the autonomous-braking data programme.",
               "Scope: 40,000 annotated frames per month; weekly quality reports.",
               "Halcyon Motors requires that all material stays within the delivery team."],
              header="CONFIDENTIAL - Client material")
    label("client_brief_halcyon.docx", True, ["client_codename", "confidential_marking"])

    write("project_kestrel_plan.pdf", pdf_bytes([
        "Project KESTREL - delivery plan\nPhase 1: data audit (2 weeks)\nPhase 2: annotation at scale",
        "Risks\nLabelling guidelines may change after the pilot.\nOwner: delivery lead"]))
    label("project_kestrel_plan.pdf", True, ["client_codename"], {"CLIENT_CODENAME": 1})

    pptx_file("orion_health_deck.pptx", [("Orion Health - pilot results", "Internal use only"),
                                         ("Accuracy", "Entity F1 improved from 0.81 to 0.88")])
    label("orion_health_deck.pptx", True, ["client_codename", "confidential_marking"])

    write("invoice_bank.pdf", pdf_bytes([
        "INVOICE 2024-117\nFrom: Rafael Souza, freelance annotator\nTo: Brightlabs Ltd\n"
        "Services: 62 hours image labelling\nPayment to IBAN PT50000201231234567890154\n"
        "Account holder: Rafael Souza"]))
    label("invoice_bank.pdf", True, ["bank_data"], {"IBAN_CODE": 1})

    write("invoice_card.html",
          "<html><body><h1>Receipt</h1><p>Charged to Mastercard 2223 0000 4841 0010, exp 09/27.</p>"
          "<p>Cardholder: Nadia Petrova</p></body></html>")
    label("invoice_card.html", True, ["bank_data"], {"CREDIT_CARD": 1})

    write("hr_form_ssn.pdf", pdf_bytes([
        "Contractor onboarding form\nFull name: Marcus Bell\nSSN: 536-22-8411\n"
        "Date of birth: 14/07/1990\nHome address: 742 Maple Street, Springfield\nEmail: marcus.bell@gmail.com"]))
    label("hr_form_ssn.pdf", True, ["government_id", "contractor_pii"], {"US_SSN": 1})

    docx_file("hr_form_uk.docx", ["New starter details", "Name: Eleanor Whitfield",
                                  "National Insurance number: JG 10 37 58 A", "DOB: 3 March 1987"])
    label("hr_form_uk.docx", True, ["government_id"], {"UK_NINO": 1})

    write("contractor_letter.html",
          "<html><head><style>p{color:red}</style></head><body><p>Dear Ahmed Karimi,</p>"
          "<p>We confirm your engagement. Your social security number 412-67-9023 is on file.</p>"
          "<p>Mailing address: 18 Harbour Road, Brighton</p></body></html>")
    label("contractor_letter.html", True, ["government_id"], {"US_SSN": 1})

    write("labelling_instructions_bluefin.md",
          "# Labelling instructions - BLUEFIN\n\nDo not distribute outside the vendor team.\n\n"
          "1. Draw a box around every pallet.\n2. Mark occluded items as `partial`.\n")
    label("labelling_instructions_bluefin.md", True, ["client_codename", "confidential_marking"])

    write("peregrine_status.txt",
          "Weekly status - PEREGRINE\n\nThroughput is on plan. The reviewer pool grew by two people.\n")
    label("peregrine_status.txt", True, ["client_codename"])

    write("slides_export_orion.txt", "Quarterly review\nCONFIDENTIAL\nOrion Health renewal options\n")
    label("slides_export_orion.txt", True, ["client_codename", "confidential_marking"])

    write("credentials_notes.txt",
          "staging notes\naws_access_key_id = AKIAZ7QW3RTY5UIOPA2D\n"
          "slack bot: xoxb-2481361823-4817263514-aBcDeFgHiJkLmNoPqRsTuVwX\n")
    label("credentials_notes.txt", True, ["credentials"])

    write("deploy_config.md",
          "## Deploy\n\n```\nGITHUB_TOKEN=ghp_4fG7hJ2kL9mN1pQ3rS5tU7vW9xY0zA2bC4dE\n```\n\n"
          "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----\n")
    label("deploy_config.md", True, ["credentials"])

    write("maps_keys.rtf", rtf("Maps integration\nkey: AIzaSyD3kF8mQ2wL5nR7tV9xZ1bC4eG6hJ8kM0p\n"))
    label("maps_keys.rtf", True, ["credentials"])

    write("service_env.txt", "SERVICE_URL=https://api.internal\napi_key = 9f8e7d6c5b4a39281706f5e4d3c2b1a0\n")
    label("service_env.txt", True, ["credentials"])

    write("nda_summary.rtf", rtf("Summary of the non-disclosure agreement with Vantablack Retail.\n"
                                 "Term: three years from signature.\n"))
    label("nda_summary.rtf", True, ["confidential_marking", "client_codename"])

    write("payroll_export.csv", "Worker,Bank,IBAN,Amount\n"
          "Ana Costa,Millennium,PT50000201231234567890154,€1200\n"
          "Luca Bianchi,Intesa,IT60X0542811101000000123456,€980\n"
          "Eva Novak,CSOB,CZ6508000000192000145399,€1100\n")
    label("payroll_export.csv", True, ["bank_data", "pay_data"], {"IBAN_CODE": 3})

    # NER-dependent: names only in prose next to contact data
    write("team_contacts.txt",
          "Vendor team contacts\n\n"
          "Please reach Olivia Martin at olivia.martin@gmail.com or +1 415 982 3344.\n"
          "Backup is Ethan Brooks, ethan.brooks@outlook.com, +1 628 411 2093.\n"
          "Escalations go to Mia Thompson (mia.t@protonmail.com, +1 312 770 4521).\n")
    label("team_contacts.txt", True, ["contractor_roster", "contractor_pii"], {"EMAIL_ADDRESS": 3},
          ner_only=True)

    write("onboarding.md", "# Welcome\n\nYour buddy is Noah Fischer. Reach him on noah.fischer@gmail.com "
          "or at his home, 27 Linden Avenue, Portland.\n")
    label("onboarding.md", True, ["contractor_pii"], ner_only=True)

    write("interview_notes.txt",
          "Interview notes\n\nCandidate Maria Gonzalez is available from May. Expected rate $55/hr.\n"
          "Her phone is (312) 448-9912.\n")
    label("interview_notes.txt", True, ["pay_data", "contractor_pii"], ner_only=True)


def benign_docs() -> None:
    write("marketing_blog.md", "# Five ways better labels make better models\n\nGood training data is the "
          "foundation of every model. In this post we share what we learned in 2023, from guideline design "
          "to reviewer calibration. Contact our sales team to learn more.\n")
    label("marketing_blog.md", False, [])

    write("recipe.txt", "Banana bread\n\n3 ripe bananas\n1/3 cup melted butter\n3/4 cup sugar\n1 egg\n"
          "1 1/2 cups flour\nBake at 350F for 60 minutes.\n")
    label("recipe.txt", False, [])

    docx_file("one_author.docx", ["Why annotation guidelines drift", "By Sarah Whitmore",
                                  "Guidelines change as edge cases appear. Version them like code."])
    label("one_author.docx", False, [])

    write("placeholders.csv", "Name,Email,Phone\nJohn Doe,john.doe@example.com,555-0100\n"
          "Jane Doe,jane@example.com,(212) 555-0142\nRichard Roe,rroe@example.org,555-0199\n")
    label("placeholders.csv", False, [])

    write("test_cards.md", "# Payments sandbox\n\nUse the test card 4111 1111 1111 1111 with any future "
          "expiry. For sample data use SSN 123-45-6789; this is fictional.\n")
    label("test_cards.md", False, [])

    write("press_release.pdf", pdf_bytes([
        "FOR IMMEDIATE RELEASE\nBrightlabs opens a new office in Lisbon\nLISBON, 4 March 2024 - Brightlabs "
        "today announced a new delivery centre.\nMedia enquiries: press@brightlabs.io"]))
    label("press_release.pdf", False, [])

    write("product_faq.html", "<html><body><h2>FAQ</h2><p>Is my data safe? We keep customer data "
          "confidential and encrypted at rest.</p><script>var token='abc';</script></body></html>")
    label("product_faq.html", False, [])

    docx_file("meeting_agenda.docx", ["Sprint planning", "Attendees: Tom, Priya, Luis",
                                      "1. Review last sprint", "2. Capacity", "3. Risks"])
    label("meeting_agenda.docx", False, [])

    xlsx_file("sales_figures.xlsx", {"Revenue": [["Region", "Quarter", "Revenue"], ["EMEA", "Q1", 1200000],
                                                 ["APAC", "Q1", 980000], ["AMER", "Q1", 2300000]]})
    label("sales_figures.xlsx", False, [])

    pptx_file("conference_talk.pptx", [("Scaling human review", "Lessons from 10 million labels"),
                                       ("Takeaways", "Measure agreement, not speed")])
    label("conference_talk.pptx", False, [])

    write("changelog.md", "## 2.3.1 (2024-02-11)\n\n- Fix export of 1,000,000+ rows\n- Commit 9f2c1e7\n"
          "## 2.3.0 (2024-01-30)\n\n- New API endpoint /v2/tasks\n")
    label("changelog.md", False, [])

    write("code_sample.md", "```python\nclient = Client(api_key=\"YOUR_API_KEY_HERE\")\n```\n"
          "Set `password = <your password>` in the config.\n")
    label("code_sample.md", False, [])

    write("holiday_schedule.csv", "Date,Holiday\n2024-01-01,New Year\n2024-12-25,Christmas\n")
    label("holiday_schedule.csv", False, [])

    write("invoice_template.rtf", rtf("INVOICE\nName: [your name]\nIBAN: ____________\nAmount: ______\n"))
    label("invoice_template.rtf", False, [])

    write("doc_export_itinerary.txt", "Team offsite itinerary\n\nDay 1: arrive in Porto, dinner at 7pm.\n"
          "Day 2: workshop on review tooling.\nDay 3: return flights.\n")
    label("doc_export_itinerary.txt", False, [])

    # codenames are ALL CAPS in the dictionary: the ordinary words must not fire
    write("birdwatching_blog.md",
          "# A morning on the downs\n\nA kestrel hovered over the field while two peregrine falcons circled "
          "the quarry. Later a Kestrel dropped onto a vole, and the Peregrine Fund volunteers counted 14 "
          "species. Lunch was a bluefin tuna sandwich; the halcyon days of summer are nearly here.\n")
    label("birdwatching_blog.md", False, [])

    write("support_contact.txt", "Need help? Write to support@brightlabs.io or call our office line "
          "during business hours.\n")
    label("support_contact.txt", False, [])


def generate(out: Path) -> int:
    """Write every document and labels.yaml into ``out``; returns the number of documents."""
    global OUT
    OUT = out
    LABELS.clear()
    out.mkdir(parents=True, exist_ok=True)
    sensitive_docs()
    benign_docs()
    (out / "labels.yaml").write_text(
        "# Expected outcome per document. detectors: must fire (others may too); entities: exact counts.\n"
        "# needs_ner: sensitivity rests on names that only NER can find (not expected pattern-only).\n"
        + yaml.safe_dump(LABELS, sort_keys=True, allow_unicode=True),
        encoding="utf-8",
    )
    return len(LABELS)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus"
    print(f"{generate(out)} documents in {out}")


if __name__ == "__main__":
    main()
