"""The accountability reports (budget execution; goals and results) as PDFs that read like a
government report (ReportLab).

A4 portrait: the agency's heading and a thin tricolour rule on every page, the title
("Ejecución presupuestaria — gestión 2020"), a summary sentence, the tables by funding source and by
program with their totals in the Bolivian number format (``60.949.269,00``), and on every page the
generation time in La Paz and "Página N de M". Helvetica (one of the PDF standard fonts, always
available): Spanish text is fully covered by its encoding.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from cases.templatetags.expediente_tags import money, percent

from .exports import (
    attainment_headers,
    attainment_method_text,
    attainment_summary,
    attainment_title,
    column_headers,
    generated_at_text,
    report_title,
    subprogram_code,
    summary_text,
)
from .selectors import Attainment, BudgetExecution, ExecutionRow, ProgramAttainment

GREEN = "#0B5E3B"
RED = "#B3261E"
YELLOW = "#F2C500"
INK = "#1D2327"
MUTED = "#4F5B62"
HEADER_BG = "#E6EEE9"
RULE = "#D5DAD6"


def _styles():
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle(
        "base", fontName="Helvetica", fontSize=9.5, leading=12.5, textColor=colors.HexColor(INK)
    )
    return {
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName="Helvetica-Bold",
            fontSize=17,
            leading=21,
            spaceAfter=3,
            textColor=colors.HexColor(GREEN),
        ),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=14, spaceAfter=10),
        "body": ParagraphStyle("body", parent=base, spaceAfter=8),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName="Helvetica-Bold",
            fontSize=11.5,
            leading=15,
            spaceBefore=10,
            spaceAfter=5,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "sub": ParagraphStyle(
            "sub",
            parent=base,
            fontName="Helvetica-Oblique",
            fontSize=8,
            leading=10,
            textColor=colors.HexColor(MUTED),
        ),
        "head": ParagraphStyle("head", parent=base, fontName="Helvetica-Bold", fontSize=8, leading=10),
        "head_num": ParagraphStyle(
            "head_num", parent=base, fontName="Helvetica-Bold", fontSize=8, leading=10, alignment=TA_RIGHT
        ),
        "cell_num": ParagraphStyle("cell_num", parent=base, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
        "note": ParagraphStyle(
            "note", parent=base, fontSize=8, leading=10.5, textColor=colors.HexColor(MUTED)
        ),
        "warning": ParagraphStyle("warning", parent=base, fontSize=9, textColor=colors.HexColor(RED)),
    }


def _table(kind: str, rows: tuple[ExecutionRow, ...], total: ExecutionRow, styles):
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Table, TableStyle

    headers = column_headers(kind)
    data = [
        [Paragraph(escape(headers[0]), styles["head"]), Paragraph(escape(headers[1]), styles["head"])]
        + [Paragraph(escape(h), styles["head_num"]) for h in headers[2:]]
    ]
    sub_rows = []
    for row in rows:
        data.append(
            [
                row.code,
                Paragraph(escape(row.name), styles["cell"]),
                money(row.in_force),
                money(row.executed),
                money(row.balance),
                percent(row.percent),
            ]
        )
        for sub in row.subprograms:  # drill-down: indented, muted, under its program
            sub_rows.append(len(data))
            data.append(
                [
                    "  " + subprogram_code(sub),
                    Paragraph(escape(sub.name), styles["sub"]),
                    money(sub.in_force),
                    money(sub.executed),
                    money(sub.balance),
                    percent(sub.percent),
                ]
            )
    data.append(
        [
            "",
            _("TOTAL"),
            money(total.in_force),
            money(total.executed),
            money(total.balance),
            percent(total.percent),
        ]
    )
    table = Table(
        data,
        colWidths=[2.25 * cm, 4.85 * cm, 2.75 * cm, 2.75 * cm, 2.75 * cm, 1.95 * cm],
        repeatRows=1,
        hAlign="LEFT",
    )
    last = len(data) - 1
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
                ("FONT", (0, last), (-1, last), "Helvetica-Bold", 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_BG)),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(GREEN)),
                ("LINEBELOW", (0, 1), (-1, last - 1), 0.4, colors.HexColor(RULE)),
                ("LINEABOVE", (0, last), (-1, last), 1.1, colors.HexColor(INK)),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                *(
                    style
                    for i in sub_rows
                    for style in (
                        ("FONT", (0, i), (-1, i), "Helvetica-Oblique", 8),
                        ("TEXTCOLOR", (0, i), (-1, i), colors.HexColor(MUTED)),
                        ("LEFTPADDING", (0, i), (1, i), 12),
                    )
                ),
            ]
        )
    )
    return table


def _canvas_class(footer_left: str, page_label: str):
    """A canvas that draws the heading on every page and "Page N of M" once the page count is known."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas

    agency = "PRO-BOLIVIA"
    ministry = _("Ministry of Productive Development and Plural Economy")
    state = "Estado Plurinacional de Bolivia"

    class ReportCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._page_states: list[dict] = []

        def showPage(self):  # ReportLab's name
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            pages = len(self._page_states)
            for state_ in self._page_states:
                self.__dict__.update(state_)
                self._decorate(pages)
                super().showPage()
            super().save()

        def _decorate(self, pages: int) -> None:
            width, height = self._pagesize
            left, right = 1.8 * cm, width - 1.8 * cm
            self.saveState()
            # Heading: state, ministry, agency; then the tricolour rule (red, yellow, green).
            self.setFillColor(colors.HexColor(MUTED))
            self.setFont("Helvetica", 7.5)
            self.drawString(left, height - 1.25 * cm, state.upper())
            self.drawString(left, height - 1.6 * cm, ministry)
            self.setFillColor(colors.HexColor(GREEN))
            self.setFont("Helvetica-Bold", 12)
            self.drawRightString(right, height - 1.55 * cm, agency)
            stripe = (right - left) / 3
            for i, color in enumerate((RED, YELLOW, GREEN)):
                self.setFillColor(colors.HexColor(color))
                self.rect(left + i * stripe, height - 1.95 * cm, stripe, 0.09 * cm, stroke=0, fill=1)
            # Footer: generation time (La Paz) and page numbers.
            self.setStrokeColor(colors.HexColor(RULE))
            self.setLineWidth(0.5)
            self.line(left, 1.55 * cm, right, 1.55 * cm)
            self.setFillColor(colors.HexColor(MUTED))
            self.setFont("Helvetica", 7.5)
            self.drawString(left, 1.1 * cm, footer_left)
            self.drawRightString(right, 1.1 * cm, page_label % {"page": self._pageNumber, "pages": pages})
            self.restoreState()

    return ReportCanvas


def _document(out, title: str):
    """An A4 accountability report with the agency's margins and metadata."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=2.6 * cm,
        bottomMargin=2.2 * cm,
        title=title,
        author="PRO-BOLIVIA",
        subject=_("Public accountability report"),
        creator="Expediente",
    )


def pdf_bytes(report: BudgetExecution) -> bytes:
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Spacer

    styles = _styles()
    title = report_title(report)
    out = io.BytesIO()
    document = _document(out, title)
    if report.closed:
        subtitle = _("Budget execution at 31 December %(year)s") % {"year": report.fiscal_year}
    else:
        subtitle = _("Fiscal year in progress: provisional figures")
    story = [
        Paragraph(escape(title), styles["title"]),
        Paragraph(escape(subtitle) + " · " + escape(_("Amounts in bolivianos (Bs)")), styles["subtitle"]),
    ]
    if report.is_empty:
        story.append(Paragraph(escape(_("No budget was recorded for this fiscal year.")), styles["body"]))
    else:
        story += [
            Paragraph(escape(summary_text(report)), styles["body"]),
            Paragraph(escape(_("By funding source")), styles["h2"]),
            _table("source", report.by_source, report.total, styles),
            Paragraph(escape(_("By program")), styles["h2"]),
            _table("program", report.by_program, report.total, styles),
            Spacer(1, 0.5 * cm),
        ]
    story.append(
        Paragraph(
            escape(
                _(
                    "Source: Expediente, from the budget lines and their ledger of movements. Executed means "
                    "accrued (devengado): disbursements and deliveries of the cases and operating "
                    "expenditure, less refunds. The percentage is executed / in force x 100."
                )
            ),
            styles["note"],
        )
    )
    if not report.ledger_reconciles:
        story.append(
            Paragraph(
                escape(_("Warning: some budget lines do not equal the sum of their ledger movements.")),
                styles["warning"],
            )
        )
    canvas_class = _canvas_class(f"{generated_at_text(report)} · Expediente", _("Page %(page)s of %(pages)s"))
    document.build(story, canvasmaker=canvas_class)
    return out.getvalue()


# === Goals and their attainment (metas y resultados) ======================================================


def figure_display(value, money_figure: bool) -> str:
    """``1.500`` for a count, ``97.500,00`` for an amount (active language); "—" for none."""
    from django.utils import formats

    if value is None:
        return "—"
    if money_figure:
        return money(value)
    return formats.number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def _attainment_table(group: ProgramAttainment, styles, *, bold: bool = False):
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Table, TableStyle

    headers = attainment_headers()[1:]
    data = [
        [Paragraph(escape(headers[0]), styles["head"])]
        + [Paragraph(escape(h), styles["head_num"]) for h in headers[1:]]
    ]
    for row in group.rows:
        label = f"<b>{escape(row.label)}</b>" if bold else escape(row.label)
        if row.goal:
            label += f'<br/><font size="7.5" color="{MUTED}">{escape(_("Goal"))}: {escape(row.goal)}</font>'
        data.append(
            [
                Paragraph(label, styles["cell"]),
                figure_display(row.target, row.is_money),
                figure_display(row.achieved, row.is_money),
                percent(row.percent),
            ]
        )
    table = Table(data, colWidths=[9.0 * cm, 2.6 * cm, 2.8 * cm, 3.0 * cm], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 1), (-1, -1), "Helvetica-Bold" if bold else "Helvetica", 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_BG)),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(GREEN)),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, colors.HexColor(RULE)),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _plan_table(group: ProgramAttainment, styles):
    """The goals of the annual plan of one program (or the agency) with their attainment as the
    report writes it: "1.327 de 1.500 — 88,5 %"."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Table, TableStyle

    from .exports import result_source
    from .selectors import goal_number

    data = [
        [
            Paragraph(escape(_("Goal")), styles["head"]),
            Paragraph(escape(_("Unit")), styles["head"]),
            Paragraph(escape(_("Baseline")), styles["head_num"]),
            Paragraph(escape(_("Attainment")), styles["head_num"]),
        ]
    ]
    for goal in group.goals:
        label = escape(goal.indicator)
        label += f'<br/><font size="7.5" color="{MUTED}">{escape(result_source(goal))}</font>'
        data.append(
            [
                Paragraph(label, styles["cell"]),
                Paragraph(escape(goal.unit), styles["cell"]),
                "—" if goal.baseline is None else goal_number(goal.baseline, goal.unit),
                Paragraph(escape(goal.text), styles["cell_num"]),
            ]
        )
    table = Table(data, colWidths=[8.4 * cm, 2.9 * cm, 1.9 * cm, 4.2 * cm], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_BG)),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(GREEN)),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, colors.HexColor(RULE)),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def attainment_pdf_bytes(report: Attainment) -> bytes:
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    styles = _styles()
    title = attainment_title(report)
    out = io.BytesIO()
    document = _document(out, title)
    if report.closed:
        subtitle = _("Results of the cases from 1 January to 31 December %(year)s") % {
            "year": report.fiscal_year
        }
    else:
        subtitle = _("Fiscal year in progress: provisional figures")
    story = [
        Paragraph(escape(title), styles["title"]),
        Paragraph(escape(subtitle), styles["subtitle"]),
        Paragraph(escape(attainment_summary(report)), styles["body"]),
    ]
    plan = [g for g in (*report.by_program, report.total) if g.goals]
    if plan:
        story.append(Paragraph(escape(_("Goals of the annual operating plan (POA)")), styles["h2"]))
        for group in plan:
            name = f"{escape(group.code)} · {escape(group.name)}" if group.code else escape(group.name)
            story.append(KeepTogether([Paragraph(name, styles["h2"]), _plan_table(group, styles)]))
        story.append(Paragraph(escape(_("Figures of the cases")), styles["h2"]))
    for group in report.by_program:
        story.append(
            KeepTogether(
                [
                    Paragraph(f"{escape(group.code)} · {escape(group.name)}", styles["h2"]),
                    _attainment_table(group, styles),
                ]
            )
        )
    story.append(
        KeepTogether(
            [
                Paragraph(escape(report.total.name), styles["h2"]),
                _attainment_table(report.total, styles, bold=True),
            ]
        )
    )
    story += [Spacer(1, 0.5 * cm), Paragraph(escape(attainment_method_text()), styles["note"])]
    canvas_class = _canvas_class(f"{generated_at_text(report)} · Expediente", _("Page %(page)s of %(pages)s"))
    document.build(story, canvasmaker=canvas_class)
    return out.getvalue()
