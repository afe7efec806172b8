"""Exact expectations for each class of document issue 11 names: which detectors fire, and which
entities the layout vouches for. Pattern-only where the class must not depend on NER."""

from __future__ import annotations

import io

import pytest

from scanner.detect.entities import REGISTRY, kind, trivial_digits, valid_birth_date, valid_iban
from scanner.detect.pipeline import ContentPipeline
from scanner.detect.records import RecordKind, text_records, text_tables
from scanner.detect.structure import field_entity
from scanner.detect.validators import name_tokens

SENSITIVE = {"contractor_roster", "contractor_pii", "government_id", "bank_data", "pay_data", "client_codename",
             "confidential_marking", "credentials"}


def fired(p: ContentPipeline, text: str, name: str = "doc.txt") -> set[str]:
    return {h.detector for h in p.analyze_bytes(text.encode(), "", name).hits}


def entities(p: ContentPipeline, text: str, name: str = "doc.txt") -> list[tuple[str, str]]:
    return [(d.entity_type, d.recognizer) for d in p.analyze_bytes(text.encode(), "", name).detections]


# ------------------------------------------------------------------------------------ headerless name lists

HEADERLESS = {
    "last-first-tab-rate": "Okafor, Amara\tamara.okafor@gmail.com\t$32.50/hr\n"
                           "Nowak, Tomasz\ttnowak7@outlook.com\t$28.00/hr\n"
                           "Mensah, Kwame\tk.mensah@yahoo.com\t$35.25/hr\n",
    "LAST-first": "OKAFOR Amara  amara.okafor@gmail.com\nNOWAK Tomasz  tnowak7@outlook.com\n"
                  "MENSAH Kwame  k.mensah@yahoo.com\n",
    "initials": "J. Okafor <j.okafor@gmail.com>\nT. Nowak <tomasz.nowak@web.de>\nK. Mensah <kmensah@proton.me>\n",
    "lowercase": "amara okafor, amara.okafor@gmail.com, +44 7700 912345\n"
                 "tomasz nowak, tnowak7@outlook.com, +48 512 345 678\n",
    "single-token": "Amara - amara.okafor@gmail.com\nTomasz - tomasz1990@outlook.com\nKwame - kwame.m@yahoo.com\n",
    "cultures": "Nguyễn Thị Hương\thuong.nguyen@gmail.com\nAl-Sayed, Youssef\tyalsayed@outlook.com\n"
                "García López, María\tmaria.garcia.lopez@yahoo.es\nAdebayo Oluwaseun\toadebayo@gmail.com\n",
    "names-and-phones": "Noortje Klein -- +49 152 69279120\nChijioke Onoh -- 697.788.4580\n"
                        "Peter Adetokunbo -- 07875 971892\n",
}


@pytest.mark.parametrize("case", sorted(HEADERLESS))
def test_headerless_name_lists_are_rosters(pattern_pipeline: ContentPipeline, case: str) -> None:
    text = HEADERLESS[case]
    got = fired(pattern_pipeline, text)
    assert "contractor_pii" in got
    lines = [ln for ln in text.splitlines() if ln]
    persons = [e for e in entities(pattern_pipeline, text) if e == ("PERSON", "structure")]
    assert len(persons) == len(lines)  # one name per line, found by the layout (no NER)
    if len(lines) >= 3:
        assert "contractor_roster" in got


def test_pay_rates_link_to_listed_names(pattern_pipeline: ContentPipeline) -> None:
    assert {"pay_data", "contractor_pii"} <= fired(pattern_pipeline, HEADERLESS["last-first-tab-rate"])
    payroll = "Almeida Enrico\t156\t€71.50\t$11,544.00\nSauvage Claude\t120\t$ 32\t$6,000.00\n" \
              "Liao Min\t145\t€75.25\t$10,440.00\n"
    assert fired(pattern_pipeline, payroll, "pay.tsv") == {"pay_data"}


# ------------------------------------------------------------------------------------ key-value forms

FORMS = {
    "colon-lines": "New hire details\nFull name: Amara Okafor\nEmail: amara.okafor@gmail.com\n"
                   "Date of birth: 14/07/1990\nSSN: 536-22-8411\n",
    "label-then-value": "Full name\nAmara Okafor\nMobile\n+44 7911 123456\nHome address\n12 Elm Street, Leeds\n",
    "lost-separator": "Contractor onboarding form\nApplicant Enzio Botta\nAcct no. 843207915013\n"
                      "Agreed rate $46 per hour\nEmail enzio.botta61@hotmail.com\n",
    "dotted": "Name ..... Fang N. Jiang\nPassport no. ..... W66208770\nPhone ..... +91 92162 14733\n",
    "bracketed": "[Candidate name] Pham, John\n[Payout rate] GBP 16.75\n[Contract start] 24/2/2024\n"
                 "[Contact number] +55 11 94111-7888\n",
    "comma-label": "Surname, first name : Perlita U. Viana Montes\nPhone number : 070 6636 4293\n"
                   "Agreed rate : $68 per hour\n",
    "unknown-line-inside": "Legal name Atheel Tahawwur\nContact number +44 7222 852544\nRole Linguist\n"
                           "Pay rate $32.50/hr\n",
    "long-labels": "Contractor name\nProkhir Lupiy\nAccount no.\n667587367119\nBank routing number\n092538276\n",
    "travel-document": "Legal name: Jane Nguyen\nTravel document no.: V28791451\nBirth date: 25 January 2004\n",
    "label-colon-then-value": "Name (as on ID): \nASENSO Yaa\nChecking account: \n769209779320\nWhatsApp number: \n"
                              "+1-228-219-6331\n",
    "qualified-lost-separator": "Surname, first name RUZICKA Zdenek\nBank routing number 074265813\n"
                                "Travel document no. H93577247\n",
}
FORM_EXPECTED = {
    "colon-lines": {"contractor_pii", "government_id"},
    "label-then-value": {"contractor_pii"},
    "lost-separator": {"contractor_pii", "bank_data", "person_bank_data", "pay_data"},
    "dotted": {"contractor_pii", "government_id"},
    "bracketed": {"contractor_pii", "pay_data"},
    "comma-label": {"contractor_pii", "pay_data"},
    "unknown-line-inside": {"contractor_pii", "pay_data"},
    "long-labels": {"bank_data", "person_bank_data"},
    "travel-document": {"contractor_pii", "government_id"},
    "label-colon-then-value": {"contractor_pii", "bank_data", "person_bank_data"},
    "qualified-lost-separator": {"government_id", "bank_data", "person_bank_data"},
}


@pytest.mark.parametrize("case", sorted(FORMS))
def test_key_value_forms_link_across_lines(pattern_pipeline: ContentPipeline, case: str) -> None:
    assert fired(pattern_pipeline, FORMS[case]) == FORM_EXPECTED[case]


def test_two_column_table_form_is_one_record(pattern_pipeline: ContentPipeline) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("Payment details")
    rows = [("Contractor name", "Sarah Ojo"), ("Contact email", "sarah.ojo36@hotmail.com"), ("Position", "Labeler"),
            ("IBAN", "GB29 NWBK 6016 1331 9268 19")]
    t = d.add_table(rows=len(rows), cols=2)
    for r, (label, value) in enumerate(rows):
        t.cell(r, 0).text, t.cell(r, 1).text = label, value
    buf = io.BytesIO()
    d.save(buf)
    result = pattern_pipeline.analyze_bytes(buf.getvalue(), "", "form.docx")
    assert {h.detector for h in result.hits} == {"contractor_pii", "bank_data", "person_bank_data"}


@pytest.mark.parametrize("text,kinds", [
    ("Name: Amara Okafor\nEmail: a@b.io\nDOB: 1990-01-02\n", [RecordKind.FORM]),
    ("Contractor onboarding form\nApplicant Enzio Botta\nEmail x@y.io\n", [RecordKind.LINE, RecordKind.FORM]),
    ("Note: call me\nThe end\n", [RecordKind.LINE, RecordKind.LINE]),
])
def test_form_records(text: str, kinds: list[RecordKind]) -> None:
    assert [r.kind for r in text_records(text)] == kinds


def test_empty_field_does_not_take_the_next_field_as_its_value() -> None:
    records = text_records("Acct no. :\nBank (IBAN) : DE12 3456\nBirth date :\nTelephone : 000-000-0000\n")
    assert [f.label for r in records for f in r.fields] == ["Bank (IBAN)", "Telephone"]


@pytest.mark.parametrize("role,label,value,entity", [
    ("dob", "Date of Birth (DD/MM/YYYY)", "12 March 1990", "DATE_OF_BIRTH"),
    ("dob", "DOB", "DD/MM/YYYY", None),
    ("gov_id", "NI No.", "AB 12 34 56 C", "UK_NINO"),
    ("gov_id", "Passport no.", "W66208770", "US_PASSPORT"),
    ("gov_id", "Taxpayer ID (SSN)", "536-22-8411", "US_SSN"),
    ("bank", "IBAN for payments", "GB29 NWBK 6016 1331 9268 19", "IBAN_CODE"),
    ("bank", "Sort code", "20-00-00", None),
    ("rate", "Agreed rate", "$0.00", None),
    ("rate", "Hourly rate", "$45", "PAY_RATE"),
])
def test_field_entity(role: str, label: str, value: str, entity: str | None) -> None:
    assert field_entity(role, label, value) == entity


# ------------------------------------------------------------------------------------ secrets

@pytest.mark.parametrize("text", [
    "LABEL_STUDIO_API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0f1e2d3c4",
    "OPENAI_API_KEY: sk-proj-Q2x8Lw0ZpR4mT7vN1cY5bK3hJ6gF9dS2aE8uI0oP4lM7nB1v",
    "export FOO_SECRET_TOKEN=Zx81kPq0Lm3Nv7Bc2Df9Gh4Jk",
    '"client_secret": "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9"',
    "$env:AZURE_CLIENT_SECRET = 'q8R~x2Lm9PzT4vB7nK1cW5yH3jF6gD0s'",
    "DD_API_KEY\t4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8",
    "see 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 for the model hub",
    "-----BEGIN RSA\nPRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "key: -----BEGIN OPENSSH PRIVATE\nKEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    # config syntaxes: PHP / Ruby arrays, Go-style :=, a subscripted name, Windows setx, a k8s env entry
    "'db_password' => 'q8Rx2Lm9PzT4vB7nK1cW',",
    "JWT_SECRET := 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "ENV['WEBHOOK_SECRET'] = 'Zx81kPq0Lm3Nv7Bc2Df9Gh4Jk'",
    'os.environ["API_TOKEN"] = "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8"',
    'setx CLIENT_SECRET "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9"',
    "env:\n  - name: PRIVATE_TOKEN\n    value: 4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8",
    'setx WEBHOOK_SECRET "232dd8548fa9a90d6050664440710001"',  # a hex key: 16 symbols, lower entropy
    # .NET / XML config, fish, PowerShell, cmd, Compose, k8s Secret, .npmrc, INI/TOML/JSON, URLs
    '<appSettings>\n  <add key="LABELBOX_API_KEY" value="q8Rx2Lm9PzT4vB7nK1cW5yH3" />\n</appSettings>',
    "<settings>\n  <clientSecret>q8Rx2Lm9PzT4vB7nK1cW5yH3</clientSecret>\n</settings>",
    "set -gx FOO_TOKEN q8Rx2Lm9PzT4vB7nK1cW5yH3",
    "set -x SMTP_PASSWORD wjmkmZnZj0Tjry!cr",
    '$env:API_TOKEN = "q8Rx2Lm9PzT4vB7nK1cW5yH3"',
    '[Environment]::SetEnvironmentVariable("SMTP_PASSWORD", "81wonGnz*SwVRoV", "User")',
    'set "DB_PASSWORD=q8Rx2Lm9PzT4vB7nK1cW"',
    "services:\n  app:\n    environment:\n      - API_TOKEN=q8Rx2Lm9PzT4vB7nK1cW5yH3",
    "apiVersion: v1\nkind: Secret\nstringData:\n  api-token: q8Rx2Lm9PzT4vB7nK1cW5yH3",
    "//registry.npmjs.org/:_authToken=3f8c1a2e-9b7d-4c6e-8f0a-1d2b3c4e5f60",
    '[api]\ntoken = "PruCqetfMHpnxK"',  # mixed case, no digit, 14 characters
    "DATABASE_URL=postgres://app:R0R1hpoHTHBs@db.internal:5432/labels",  # 12 characters with repeats
    "git clone https://deploy:q8Rx2Lm9PzT4vB7nK1cW5yH3@git.internal/labels/x.git",
])
def test_secrets_with_prefixed_names_and_wrapped_keys(pattern_pipeline: ContentPipeline, text: str) -> None:
    assert fired(pattern_pipeline, text) == {"credentials"}


# names tokenised on camelCase / snake / kebab / dot boundaries, the secret word last; values on
# command lines, in connection strings and headers (rules/presidio/recognizers.yaml)
SECRET_FORMS = {
    "ruby_pat": ':pat => "q8Rx2Lm9PzT4vB7nK1cW5yH3",',
    "terraform_pat": 'pat = "glq8Rx2Lm9PzT4vB7nK1cW5"',
    "gitlab_pat_env": "GITLAB_PAT=Zx81kPq0Lm3Nv7Bc2Df9Gh4Jk",
    "camel_key_ps": '$masterKey = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"',
    "camel_key_short_word": '$gcpSaKey = "q8Rx2Lm9PzT4vB7nK1cW5yH3"',
    "camel_key_xml": "<masterKey>q8Rx2Lm9PzT4vB7nK1cW5yH3</masterKey>",
    "camel_pass_json": '"adminPass": "Zx81kPq0Lm3Nv7Bc2Df9"',
    "camel_auth": "basicAuth: q8Rx2Lm9PzT4vB7nK1cW5yH3",
    "dotted_name": "app.datasource.privateKey=q8Rx2Lm9PzT4vB7nK1cW5yH3",
    "kebab_conn_string": 'db-conn-string: "q8Rx2Lm9PzT4vB7nK1cW5yH3"',
    "curl_u": "curl -u deploy:R0h1pzTHBs https://api.internal/v1/export",
    "curl_u_late": "curl -s https://api.internal/v1/export --user 'svc_export:q8Rx2Lm9Pz'",
    "mysql_p": "mysql -h db01 -u root -pq8Rx2Lm9 labels < dump.sql",
    "mysql_p_quoted": "mysqldump -u backup -p'Zx81kPq0Lm3' labels > labels.sql",
    "sshpass": "sshpass -p 'k9Lm2Pq8xZ' ssh deploy@bastion",
    "password_flag": "./exporter --user svc --password=Zx81kPq0Lm",
    "password_flag_space": "pg_restore --token q8Rx2Lm9PzT4 -d labels",
    "ado_connection": '<add name="Main" connectionString="Server=tcp:sql01;User ID=app;Password=q8Rx2Lm9Pz;" />',
    "jdbc": "jdbc:mysql://db01:3306/labels?user=app&password=Zx81kPq0Lm&useSSL=true",
    "azure_storage": "DefaultEndpointsProtocol=https;AccountName=labels;AccountKey=q8Rx2Lm9PzT4vB7nK1cW5yH3jF6gD0sA1b2C3d4E5f6==;",
    "sas_url": "https://labels.blob.core.windows.net/x?sv=2022-11-02&ss=b&sig=q8Rx2Lm9PzT4vB7nK1cW5yH3%2BjF6gD0s%3D",
    "mongodb_srv": "mongodb+srv://etl:q8Rx2Lm9PzT4@cluster0.abcde.mongodb.net/labels",
    "bearer_header": 'curl -H "Authorization: Bearer q8Rx2Lm9PzT4vB7nK1cW5yH3jF6gD0s" https://api.internal',
    "api_key_header": 'curl -H "X-Api-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0" https://api.internal',
    "pgpass": "# ~/.pgpass\ndb01.internal:5432:labels:etl:q8Rx2Lm9PzT4",
}


@pytest.mark.parametrize("case", sorted(SECRET_FORMS))
def test_secret_names_and_command_line_forms(pattern_pipeline: ContentPipeline, case: str) -> None:
    assert fired(pattern_pipeline, SECRET_FORMS[case]) == {"credentials"}


SECRET_FORM_LOOKALIKES = {
    "pat_placeholder": 'pat = "<your-personal-access-token>"',
    "pat_var": "GITLAB_PAT=${GITLAB_PAT}",
    "camel_key_var": "$masterKey = Read-Host -AsSecureString",
    "public_key": 'publicKey: "q8Rx2Lm9PzT4vB7nK1cW5yH3jF6gD0s"',
    "primary_key": "primaryKey = 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "key_id_uuid": "api_key_id: 3f8c1a2e-9b7d-4c6e-8f0a-1d2b3c4e5f60",
    "token_url": "TOKEN_URL=https://id.internal/oauth2/v1/token",
    "camel_words": "masterKey: ProductionMasterKeyValue",
    "curl_u_doc": "curl -u USERNAME:PASSWORD https://api.example.com/v1",
    "curl_u_var": 'curl -u "$USER:$API_TOKEN" https://api.internal',
    "curl_u_trivial": "curl -u admin:admin http://localhost:8080",
    "mysql_prompt": "mysql -h db01 -u root -p labels",
    "mysql_doc": "Pass the password with mysql -p (it prompts); never put it on the command line.",
    "password_flag_doc": "--password PASSWORD   the account password (prompted when omitted)",
    "password_flag_var": "./exporter --password=$DB_PASSWORD",
    "ado_placeholder": '<add name="Main" connectionString="Server=.;User ID=sa;Password=<password>;" />',
    "ado_masked": "Server=sql01;User ID=app;Password=****;",
    "jdbc_changeme": "jdbc:mysql://db01:3306/labels?user=app&password=changeme",
    "bearer_var": 'curl -H "Authorization: Bearer $TOKEN" https://api.internal',
    "bearer_doc": "Send the token as a Bearer header: Authorization: Bearer <token>.",
    "sha256_release_notes": "sha256  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  sharescan-1.4.tar.gz",
    "uuid_id": "request id 3f8c1a2e-9b7d-4c6e-8f0a-1d2b3c4e5f60",
    "camelcase_prose": "The MasterKey and SessionPass features ship in OnPremAuth.",
    "pgpass_placeholder": "hostname:port:database:username:password",
}


@pytest.mark.parametrize("case", sorted(SECRET_FORM_LOOKALIKES))
def test_secret_form_look_alikes_stay_clean(pattern_pipeline: ContentPipeline, case: str) -> None:
    assert fired(pattern_pipeline, SECRET_FORM_LOOKALIKES[case]) == set()


@pytest.mark.parametrize("text", [
    "Pat okafor.amara91@gmail.com", "Pat\tamara.okafor91@gmail.com\t$18.50", "Sas: sas.mbeki1987@outlook.com",
])
def test_first_names_that_are_secret_words_are_no_secret(pattern_pipeline: ContentPipeline, text: str) -> None:
    assert "credentials" not in fired(pattern_pipeline, text)  # a person's e-mail (contractor_pii), not a PAT


@pytest.mark.parametrize("name,tokens", [
    ("gcpSaKey", ["gcp", "sa", "key"]), ("LABEL_STUDIO_API_KEY", ["label", "studio", "api", "key"]),
    ("x.db-pwd", ["x", "db", "pwd"]), ("HTTPAuthToken", ["http", "auth", "token"]),
])
def test_name_tokens(name: str, tokens: list[str]) -> None:
    assert name_tokens(name) == tokens


@pytest.mark.parametrize("text", [
    "OPENAI_API_KEY=<your-key-here>",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "STRIPE_SECRET_KEY=sk_test_...",
    "LABEL_STUDIO_API_KEY={{ secrets.LS_KEY }}",
    "password: ********",
    "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    "the token refresh works like this: see the docs",
    "'password' => env('DB_PASSWORD'),",
    'setx API_TOKEN "%API_TOKEN%"',
    "- name: PRIVATE_TOKEN\n  valueFrom: secretKeyRef",
    "- name: API_TOKEN\n  value: <paste the token here>",
    '<add key="ApiKey" value="[YOUR_API_KEY]" />',
    "<password>********</password>",
    "set -gx OPENAI_API_KEY $OPENAI_KEY",
    '$env:API_TOKEN = "<token>"',
    'set "DB_PASSWORD=changeme"',
    "      - API_TOKEN=${API_TOKEN}",
    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    "DATABASE_URL=postgres://user:password@localhost:5432/db",
    "git clone https://<user>:<token>@github.com/org/repo.git",
    "SECRET_KEY=xxxxxxxxxxxxxxxxxxxxxxxx",
    'client_secret = "REDACTED"',
    "apiKey: ProductionKeyValue",  # CamelCase words, not a random value
    "token bucket refills at 1000 units per minute",
    "tokens per-annotator/hour are capped",
    "password reset links expire after 24 hours: https://id.example.org:8443/reset",
])
def test_secret_look_alikes_stay_clean(pattern_pipeline: ContentPipeline, text: str) -> None:
    assert fired(pattern_pipeline, text) == set()


# ------------------------------------------------------------------------------------ look-alikes stay clean

CLEAN = {
    "blank-form": "Contractor onboarding form (template)\nYour Name: ____________\nEmail: ____@____\n"
                  "Phone: (___) ___-____\nHourly rate: 0.00\nDate of birth: DD/MM/YYYY\nSSN: XXX-XX-XXXX\n"
                  "Bank account: 00000000\nAddress: 123 Main Street, Anytown\n",
    "blank-table-form": "Name\t[Full name]\nEmail\tname@example.com\nRate\t$0.00\nPhone\t+44 (0)20 7946 0000\n",
    "sample-data": "Name,Email,Phone,Rate\nJohn Doe,john.doe@example.com,(212) 555-0142,$25.00\n"
                   "Jane Doe,jane.doe@example.org,+1 415 555 0199,$30.00\nJoe Bloggs,joe@test.com,555-0100,$0.00\n",
    "product-names": "Product\tVersion\tSeats\tPrice\nLabel Studio\t1.9\t40\t$99.00\nTableau Desktop\t2.1\t12\t$70.00\n"
                     "Power BI\t3.4\t300\t$10.00\nKili Technology\t4.0\t8\t$45.00\n\n"
                     "Enterprise sales: enterprise@labelhub.ai or +1 415 867 2290 (Power BI support line).\n",
    "public-figures": "Ada Lovelace (born 10 December 1815) was a mathematician.\n"
                      "Alan Turing (born 23 June 1912) was a computer scientist.\n"
                      "Name\tBorn\tKnown as\nGrace Hopper\t9 December 1906\tcomputer scientist\n",
    "meeting-notes": "Attendees: Amara Okafor, Tomasz Nowak, Kwame Mensah\nActions:\n- Amara to follow up on the audit\n",
    "role-mailboxes": "Questions? Write to hello@tessera-labs.com, support@tessera-labs.com or press@tessera-labs.com.\n",
    "blank-form-empty-fields": "Full name : Your Name\nAcct no. : \nBank (IBAN) : DE89 3704 0044 0532 0130 00\n"
                               "Pay rate : $0.00\nBirth date : \nTelephone : 000-000-0000\n",
    "sample-rows": "Name\tEmail\tPhone\tRate\nErika Mustermann\terika.m@example.com\t(894) 555-0181\t0.00\n"
                   "Mario Rossi\tmario.rossi@example.net\t+1 770 555-0117\t$25.00\n",
}


@pytest.mark.parametrize("case", sorted(CLEAN))
def test_look_alikes_stay_clean(spacy_pipeline: ContentPipeline, case: str) -> None:
    name = "sample.csv" if case == "sample-data" else "doc.txt"
    assert fired(spacy_pipeline, CLEAN[case], name) & SENSITIVE == set()


# ------------------------------------------------------------------------------------ tables in text, sheets

def test_space_aligned_text_table_uses_its_header(pattern_pipeline: ContentPipeline) -> None:
    text = ("Team directory\n\nAnnotator     Mobile number    Status      Country\n"
            "tayyip bilir  +1 720 807 2448  paused      KE\ngang ren      +44 7737 503023  offboarded  MX\n"
            "somadina obi  +1 702 746 6238  active      UK\n")
    assert len(text_tables(text)) == 1
    assert fired(pattern_pipeline, text) == {"contractor_roster", "contractor_pii"}
    assert entities(pattern_pipeline, text).count(("PERSON", "structure")) == 3


@pytest.mark.parametrize("text,expected", [
    # an id column before lower-case names, separators lost (PDF)
    ("Worker ID Annotator Cell\n11211 thiago garcia sanchez (815) 650-3134\n90893 kotryna butkus +234 808 708 6474\n"
     "1592 fabio pinto +61 497 276 713\n", {"contractor_roster", "contractor_pii"}),
    # a payroll laid out with spaces: name, hours, rate, total
    ("Onwuka Obinna       75   64.00$     $4,350.00\nLangern Olena       52   76.00 USD  $2,964.00\n"
     "Ledesma Ponce Ivan  160  US$19.50   $6,720.00\n", {"pay_data"}),
    # CSV lines inside a text document
    ('"OKAFOR, Amara",139,USD 83.75,"$6,950.00"\n"NOWAK, Tomasz",39,$67.50,"$2,067.00"\n'
     '"MENSAH, Kwame",36,USD37.00,"$2,340.00"\n', {"pay_data"}),
    # the amounts of list lines holding a contact are pay, even when other columns hide the name
    ("Mario Price marioprice57@johnson.com 07345 324842 R$ 28,25 2024-06-08 AM\n"
     "Julius Urbonas julius81@live.com 579.718.6085 $19.80 2024-11-25 Night\n"
     "Joris Naujokas jorisn29@gordon-arnold.info +27 84 264 9069 69.25$ 2024-05-27 AM\n",
     {"contractor_roster", "contractor_pii", "pay_data"}),
])
def test_list_columns(pattern_pipeline: ContentPipeline, text: str, expected: set[str]) -> None:
    assert fired(pattern_pipeline, text) == expected


def test_sheet_used_as_a_page_links_contact_pairs(pattern_pipeline: ContentPipeline) -> None:
    from scanner.emulator.office import xlsx_bytes

    rows = [["Invoice INV-83001"], ["From: Kaiser Rabiah"], ["342 Victoria Road, Pune 81540"],
            ["Email: krabiah@hotmail.com"], ["IBAN: GB29 NWBK 6016 1331 9268 19"]]
    result = pattern_pipeline.analyze_bytes(xlsx_bytes([("Sheet1", rows)]), "", "invoice.xlsx")
    assert "contractor_pii" in {h.detector for h in result.hits}


@pytest.mark.parametrize("header,role", [
    ("Full name of payee", "name"), ("Bank routing number", "bank"), ("Contractor name", "name"),
    ("Company name", None), ("Team member", "name"), ("Emails", "email"), ("Payout", "rate"),
    ("Travel document no.", "gov_id"), ("NI no", "gov_id"), ("Project status", None), ("First", "name"),
    ("Last updated", None), ("Vendor contact", "name"), ("WhatsApp", "phone"),
])
def test_header_roles(header: str, role: str | None) -> None:
    from scanner.detect.structure import header_role

    assert header_role(header) == role


@pytest.mark.parametrize("where", ["second_sheet", "hidden_sheet", "hidden_column"])
def test_spreadsheet_pii_off_the_first_sheet(pattern_pipeline: ContentPipeline, where: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    for row in [["Region", "Quarter", "Revenue"], ["EMEA", "Q1", 120000], ["APAC", "Q2", 98000]]:
        ws.append(row)
    people = [["Name", "Team", "Personal email"], ["Amara Okafor", "NLP", "amara.okafor@gmail.com"],
              ["Tomasz Nowak", "QA", "tnowak7@outlook.com"], ["Kwame Mensah", "Ops", "k.mensah@yahoo.com"]]
    if where == "hidden_column":
        target = wb.create_sheet("Tracker")
        for row in people:
            target.append(row)
        target.column_dimensions["C"].hidden = True
    else:
        target = wb.create_sheet("People")
        for row in people:
            target.append(row)
        if where == "hidden_sheet":
            target.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    result = pattern_pipeline.analyze_bytes(buf.getvalue(), "", "book.xlsx")
    assert {h.detector for h in result.hits} == {"contractor_roster", "contractor_pii"}


def test_long_document_with_roster_near_the_end(pattern_pipeline: ContentPipeline) -> None:
    filler = ("In practice, the shared dataset improves the weekly review process for every project. " * 12 + "\n\n")
    body = filler * (1_050_000 // len(filler))
    roster = "\n".join(["Name,Email,Phone", "Amara Okafor,amara.okafor@gmail.com,+44 7911 123456",
                        "Tomasz Nowak,tnowak7@outlook.com,+48 512 345 678",
                        "Kwame Mensah,k.mensah@yahoo.com,+233 24 123 4567"])
    text = body + "Appendix: contacts\n\n" + roster + "\n\n" + filler
    assert len(text) >= 1_000_000
    result = pattern_pipeline.analyze_bytes(text.encode(), "", "handbook.txt")
    assert not result.truncated
    assert {h.detector for h in result.hits} >= {"contractor_roster", "contractor_pii"}


# ------------------------------------------------------------------------------------ prose

@pytest.mark.parametrize("text", [
    "Our new QA lead is Narkis Tikhonov - n.tikhonov17@icloud.com.",  # the e-mail spells the name
    "Send the signed contract to Aron van Goerle (aronvangoerle25@yahoo.com).",
    "You can reach Bican Seven on +44 7776 449817 any weekday.",  # a "+CC" number needs no context word
    "Please add Ololade Adelusi (+49 156 18641798) to the on-call rota.",  # also in parentheses
    "Renata Diaconescu moved to 320 Mill Lane, Austin 28407; please update payroll.",  # a name beside an address
])
def test_contact_details_in_prose(spacy_pipeline: ContentPipeline, text: str) -> None:
    assert "contractor_pii" in fired(spacy_pipeline, "Weekly update\n\nThe rollout is on track.\n\n" + text)


# ------------------------------------------------------------------------------------ the registry

def test_every_detector_entity_is_registered(pattern_pipeline: ContentPipeline) -> None:
    for spec in pattern_pipeline.settings.detectors.values():
        for entity in spec.entities:
            assert entity in REGISTRY, (spec.name, entity)


def test_unregistered_entity_gets_a_default_kind() -> None:
    custom = kind("EMPLOYEE_BADGE")
    assert custom.anchor is None  # looked for in every block
    assert custom.mask("Badge 1234 5678") == "B••• 1••• 5•••"
    assert not custom.person_data


@pytest.mark.parametrize("value,trivial", [("00000000", True), ("12345678", True), ("98765432", True),
                                           ("049445163", False), ("843207915013", False)])
def test_trivial_digits(value: str, trivial: bool) -> None:
    assert trivial_digits(value) is trivial


@pytest.mark.parametrize("value,valid", [("14/07/1990", True), ("10 December 1815", False), ("2021-01-01", False),
                                        ("March 3, 1987", True)])
def test_birth_date_plausible(value: str, valid: bool) -> None:
    assert valid_birth_date(value, False) is valid


@pytest.mark.parametrize("value,valid", [("GB29 NWBK 6016 1331 9268 19", True), ("GB00 XXXX 0000 0000 0000 00", False),
                                        ("DE89370400440532013001", False)])
def test_labelled_iban_check_digits(value: str, valid: bool) -> None:
    assert valid_iban(value, True) is valid


def test_roster_detector_is_chosen_by_type(tmp_path, pattern_pipeline: ContentPipeline) -> None:
    """A detector of type roster under another name is a roster; an unknown type is refused."""
    import shutil

    import yaml

    from scanner.detect.detectors import DetectorConfigError
    from scanner.detect.pipeline import DetectConfig, default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = rules / "detectors" / "detectors.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["detectors"]["people_list"] = raw["detectors"].pop("contractor_roster")
    path.write_text(yaml.safe_dump(raw))
    renamed = ContentPipeline(DetectConfig(rules_dir=rules, nlp_mode="pattern-only"), b"k" * 32)
    assert "people_list" in fired(renamed, HEADERLESS["LAST-first"])
    raw["detectors"]["people_list"]["type"] = "nonsense"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DetectorConfigError, match="unknown type 'nonsense'"):
        ContentPipeline(DetectConfig(rules_dir=rules, nlp_mode="pattern-only"), b"k" * 32)
