"""The flow diagram (issue 11, item 14): drawn from the viewflow flow itself (its nodes and their
outgoing edges), as inline SVG on a page per case type and on each case page with the current step
and the path taken marked from the case's tasks."""

import re

import pytest
from django.urls import reverse

from cases import kinds
from tests.iniciativas.test_side_exits import to_approval
from workflows import diagram

pytestmark = pytest.mark.django_db


def test_the_diagram_is_the_flow_s_own_graph():
    for kind in kinds.all_kinds():
        flow = kind.flow_class
        human = {n.name for n in flow.instance.nodes() if hasattr(n, "_step")}
        d = diagram.for_kind(kind)
        assert {b.name for b in d.steps} == human, kind.code
        assert {b.kind for b in d.boxes} == {"start", "end", "step"}
        # Every box below the start is reached by an arrow; every box sits inside the drawing.
        targets = {a.dst for a in d.arrows}
        assert all(b.name in targets for b in d.boxes if b.kind != "start"), kind.code
        assert all(
            b.x >= 0 and b.x + diagram.NODE_W <= d.width and b.y + diagram.NODE_H <= d.height for b in d.boxes
        )
    d = diagram.for_kind(kinds.get("initiative"))
    arrows = {(a.src, a.dst): a for a in d.arrows}
    # Through the switch after admissibility: evaluations or an observation, each on its condition.
    assert arrows[("admissibility", "evaluate")].conditional
    assert arrows[("admissibility", "answer_observation")].conditional
    assert not arrows[("agreement", "payment_order")].conditional
    # Back up: an answered observation returns to admissibility; the next tranche to the payment order.
    assert arrows[("answer_observation", "admissibility")].back
    assert arrows[("progress_review", "payment_order")].back
    by_name = {b.name: b for b in d.boxes}
    assert by_name["admissibility"].may_end and not by_name["agreement"].may_end
    assert by_name["end"].layer == max(b.layer for b in d.boxes)


def test_a_case_shows_its_current_step_and_the_path_taken(client, world):
    ini = to_approval(world)
    d = diagram.for_case(kinds.get("initiative"), ini)
    state = {b.name: b.state for b in d.boxes}
    assert state["approval"] == "current"
    assert state["admissibility"] == state["evaluate"] == state["start"] == "done"
    assert state["agreement"] == state["answer_observation"] == ""
    taken = {(a.src, a.dst) for a in d.arrows if a.taken}
    assert {("start", "admissibility"), ("admissibility", "evaluate"), ("evaluate", "approval")} <= taken
    assert ("agreement", "payment_order") not in taken

    client.force_login(world.staff["evaluador1"])
    html = client.get(reverse("initiative-detail", args=[ini.pk]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<details class="card case-flow" id="recorrido">' in html
    assert "paso actual: Cadena de aprobación" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('stroke="#8a5a00"') == 1  # one current box
    assert "<script" not in html


def test_the_flow_pages(client, world):
    assert client.get(reverse("flow-detail", args=["initiative"])).status_code == 302  # sign in first
    client.force_login(world.staff["evaluador1"])
    index = client.get(reverse("flow-index"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    for kind in kinds.all_kinds():
        assert reverse("flow-detail", args=[kind.code]) in index
    page = client.get(reverse("flow-detail", args=["transfer"]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Flujo: Transferencia" in page and "<svg" in page
    assert re.search(r"<li>Informe legal", page)
    assert client.get(reverse("flow-detail", args=["nothing"])).status_code == 404
