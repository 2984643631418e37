"""An appointment's intake on paper: `render_pdf` (to download and file) and `render_html` (to
print from the browser), both from the same record (built by core.intake's answers side):

    {"appointment": {"id", "customer", "type", "location", "provider", "starts_local"},
     "form_version", "items": [{"label", "kind", "answer"}], "files": [{"name", "content_type",
     "size", "sha256"}], "consents": [{"label", "text", "text_sha256", "signed_name", "signed_by",
     "signed_at_local", "client_address", "user_agent"}], "state", "missing": [labels]}

Why fpdf2 and not WeasyPrint: the printout is a flow of labelled text, which fpdf2 lays out in
pure Python (its dependencies are fontTools, Pillow and defusedxml, all wheels), while WeasyPrint
needs Pango and its system libraries on every machine that prints. The PDF uses DejaVu Sans (the
Debian package fonts-dejavu-core) for any Latin, Greek or Cyrillic text; the PDF's core fonts
know Latin-1 only, and a signed name must print as typed. Customer text is never read as markup:
fpdf2 gets plain strings, and the HTML template is autoescaped."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
MONO = "DejaVuSansMono.ttf"
_HERE = Path(__file__).parent
_ENV = Environment(loader=FileSystemLoader(_HERE), autoescape=select_autoescape(default=True, default_for_string=True))


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


_ENV.filters["size"] = human_size


def render_html(record: dict) -> str:
    """A standalone HTML page (inline style, nothing fetched) to print."""
    return _ENV.get_template("printout.html.j2").render(r=record, a=record["appointment"])


def _state_line(record: dict) -> str:
    if record["state"] == "complete":
        return "Complete."
    missing = record.get("missing") or []
    return "Incomplete" + (f": still missing {', '.join(missing)}." if missing else ".")


class _Printout(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        for style, name in FONTS.items():
            path = FONT_DIR / name
            if not path.is_file():
                raise FileNotFoundError(
                    f"The PDF font {path} is missing: install the Debian package fonts-dejavu-core."
                )
            self.add_font("DejaVu", style, str(path))
        self.add_font("DejaVuMono", "", str(FONT_DIR / MONO))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str, size: float = 12) -> None:
        self.ln(3)
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def text(self, text: str, *, size: float = 10, bold: bool = False, mono: bool = False) -> None:  # type: ignore[override]
        self.set_font("DejaVuMono" if mono else "DejaVu", "B" if bold and not mono else "", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def render_pdf(record: dict) -> bytes:
    """The intake as an A4 PDF: the appointment, whether it is complete, every answer, the
    files' names and hashes, and each consent's full text with who signed it, when and where."""
    a = record["appointment"]
    pdf = _Printout(f"Intake of appointment #{a['id']}, form version {record['form_version']}")
    pdf.set_title(f"Intake: {a['customer']}")
    pdf.set_creator("appointment-ops")
    pdf.add_page()
    pdf.heading(f"Intake: {a['customer']}", 16)
    pdf.text(" · ".join(str(v) for v in (a["type"], a["starts_local"], a["location"], a.get("provider")) if v))
    pdf.text(f"Appointment #{a['id']} · form version {record['form_version']}")
    pdf.ln(2)
    pdf.text(_state_line(record), bold=True)
    pdf.heading("Answers")
    for item in record["items"] or []:
        pdf.text(item["label"], bold=True)
        pdf.text(item["answer"] or "(no answer)")
        pdf.ln(1.5)
    if not record["items"]:
        pdf.text("No answers.")
    if record.get("files"):
        pdf.heading("Files")
        for f in record["files"]:
            pdf.text(f"{f['name']} ({f['content_type']}, {human_size(f['size'])})", bold=True)
            pdf.text(f"SHA-256 {f['sha256']}", size=8, mono=True)
            pdf.ln(1)
    if record.get("consents"):
        pdf.heading("Consents")
        for c in record["consents"]:
            pdf.text(c["label"], bold=True)
            pdf.text(c["text"])
            pdf.ln(1)
            where = f", from {c['client_address']}" if c.get("client_address") else ""
            pdf.text(f"Signed “{c['signed_name']}” by {c['signed_by']} on {c['signed_at_local']}{where}.", size=9)
            if c.get("user_agent"):
                pdf.text(f"Browser: {c['user_agent']}", size=8)
            pdf.text(f"Text SHA-256 {c['text_sha256']}", size=8, mono=True)
            pdf.ln(3)
    return bytes(pdf.output())
