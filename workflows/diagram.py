"""The flow diagram of a case type, drawn from its viewflow flow (``flow_class.instance.nodes()``
and each node's ``_outgoing()`` edges), laid out here and rendered as inline SVG by the template
``workflows/_diagram.html`` — no JavaScript.

People read steps, not routing: the start, the end and the human steps are boxes; the gateways
between them (switches, splits, joins) are folded into the arrows (a dashed arrow: taken only when
its condition holds). Layout: layers top to bottom by the shortest distance from the start (the end
last); an arrow back to an earlier layer (an observation answered, the next tranche) runs up the
right-hand side.

On a case page the boxes its tasks went through are marked done, the open ones current, and the
arrows between visited boxes as the path taken (``for_case``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

NODE_W, NODE_H = 168, 48
GAP_X, GAP_Y = 24, 30
MARGIN = 12
BACK_LANE = 16  # width of each lane of the arrows that go back up


@dataclass
class Box:
    name: str
    label: str
    kind: str  # start | end | step
    layer: int = 0
    x: int = 0
    y: int = 0
    state: str = ""  # "" | done | current
    lines: list[str] = field(default_factory=list)
    may_end: bool = False  # a decision here may end the case (a rejection, an expired deadline)

    @property
    def cx(self) -> int:
        return self.x + NODE_W // 2

    @property
    def text_y(self) -> int:
        return self.y + NODE_H // 2 - (len(self.lines) - 1) * 13 // 2 + 4


@dataclass
class Arrow:
    src: str
    dst: str
    conditional: bool
    path: str = ""
    taken: bool = False
    back: bool = False


@dataclass
class Diagram:
    boxes: list[Box]
    arrows: list[Arrow]
    width: int
    height: int
    current: list[str]
    kind_code: str = ""

    @property
    def steps(self) -> list[Box]:
        return [b for b in self.boxes if b.kind == "step"]


def _kind(node) -> str:
    name = type(node).__name__
    if name.startswith("Start"):
        return "start"
    if name == "End":
        return "end"
    if hasattr(node, "_step"):
        return "step"
    return "gateway"


def _label(node, kind: str) -> str:
    from approvals.models import step_label

    if kind == "start":
        return pgettext("flow diagram", "Start")
    if kind == "end":
        return pgettext("flow diagram", "End")
    step = getattr(node, "_step", "")
    if callable(step) or not isinstance(step, str):
        return _("Approval chain")
    return step_label(step)


def _wrap(text: str, width: int = 22) -> list[str]:
    """Break a label into at most three lines of about ``width`` characters (the box is fixed)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 3:
        lines = [lines[0], lines[1], " ".join(lines[2:])]
        if len(lines[2]) > width:
            lines[2] = lines[2][: width - 1] + "…"
    return lines


def graph(flow_class) -> tuple[dict[str, Box], list[Arrow]]:
    """The boxes (start, end, human steps) and the arrows between them, gateways folded in."""
    nodes = {n.name: n for n in flow_class.instance.nodes()}
    kinds = {name: _kind(n) for name, n in nodes.items()}
    boxes = {
        name: Box(name=name, label=_label(n, kinds[name]), kind=kinds[name])
        for name, n in nodes.items()
        if kinds[name] != "gateway"
    }
    arrows: dict[tuple[str, str], Arrow] = {}
    for name in boxes:
        # Walk through the gateways after this box to the boxes they lead to.
        stack = [(e.dst.name, False) for e in nodes[name]._outgoing()]
        seen = set()
        while stack:
            target, conditional = stack.pop()
            if (target, conditional) in seen:
                continue
            seen.add((target, conditional))
            if kinds[target] != "gateway":
                known = arrows.get((name, target))
                if known is None:
                    arrows[(name, target)] = Arrow(name, target, conditional)
                elif not conditional:
                    known.conditional = False
                continue
            gateway = nodes[target]
            branches = list(gateway._outgoing())
            choice = type(gateway).__name__ == "Switch" and len(branches) > 1
            stack.extend((e.dst.name, conditional or choice) for e in branches)
    return boxes, list(arrows.values())


def _fold_exits(boxes: dict[str, Box], arrows: list[Arrow]) -> list[Arrow]:
    """A conditional arrow to the end (a rejection, a lapsed deadline) from a step that also goes on
    becomes a mark on the step: drawn, a dozen of them would hide the main path."""
    onward = {a.src for a in arrows if boxes[a.dst].kind != "end"}
    kept, folded = [], []
    for a in arrows:
        if a.conditional and boxes[a.dst].kind == "end" and a.src in onward:
            folded.append(a)
        else:
            kept.append(a)
    if not any(boxes[a.dst].kind == "end" for a in kept):
        return arrows  # every way to the end is a condition (a short flow): draw them all
    for a in folded:
        boxes[a.src].may_end = True
    return kept


def layout(boxes: dict[str, Box], arrows: list[Arrow]) -> Diagram:
    start = next((b.name for b in boxes.values() if b.kind == "start"), None)
    following: dict[str, list[str]] = {name: [] for name in boxes}
    for a in arrows:
        following[a.src].append(a.dst)
    # Layers by breadth-first distance from the start (discovery order within a layer).
    order: list[str] = []
    if start is not None:
        boxes[start].layer = 0
        queue, seen = deque([start]), {start}
        while queue:
            name = queue.popleft()
            order.append(name)
            for nxt in following[name]:
                if nxt not in seen and boxes[nxt].kind != "end":
                    seen.add(nxt)
                    boxes[nxt].layer = boxes[name].layer + 1
                    queue.append(nxt)
    rest = [n for n in boxes if n not in order and boxes[n].kind != "end"]
    last = max((boxes[n].layer for n in order), default=0)
    for n in rest:
        last += 1
        boxes[n].layer = last
        order.append(n)
    for b in boxes.values():
        if b.kind == "end":
            b.layer = last + 1
            order.append(b.name)
    layers: dict[int, list[str]] = {}
    for name in order:
        layers.setdefault(boxes[name].layer, []).append(name)
    widest = max(len(v) for v in layers.values())
    inner_w = widest * NODE_W + (widest - 1) * GAP_X
    side = 4 * (BACK_LANE // 2) + BACK_LANE  # room for the arrows that go back up, on each side
    left = MARGIN + side
    for layer, names in layers.items():
        row_w = len(names) * NODE_W + (len(names) - 1) * GAP_X
        x0 = left + (inner_w - row_w) // 2
        for i, name in enumerate(names):
            b = boxes[name]
            b.x = x0 + i * (NODE_W + GAP_X)
            b.y = MARGIN + layer * (NODE_H + GAP_Y)
            b.lines = _wrap(b.label)
    middle = left + inner_w / 2
    lanes = {"left": 0, "right": 0}
    for a in arrows:
        s, d = boxes[a.src], boxes[a.dst]
        if d.layer > s.layer:
            x1, y1, x2, y2 = s.cx, s.y + NODE_H, d.cx, d.y
            mid = (y1 + y2) / 2
            a.path = f"M{x1},{y1} C{x1},{mid:.0f} {x2},{mid:.0f} {x2},{y2 - 2}"
            continue
        a.back = True
        if a.src == a.dst:
            x1, y1 = s.x + NODE_W, s.y + 10
            a.path = f"M{x1},{y1} C{x1 + 22},{y1 - 6} {x1 + 22},{y1 + 34} {x1 + 2},{y1 + 28}"
        elif d.layer == s.layer:
            # Beside it on the same row: a short arrow between the facing edges, below the middle.
            y = s.y + NODE_H * 2 // 3
            x1, x2 = (s.x, d.x + NODE_W + 2) if d.x < s.x else (s.x + NODE_W, d.x - 2)
            a.path = f"M{x1},{y} L{x2},{y}"
        else:
            # Up an outer lane, on the side of the drawing the two boxes lean to.
            side_name = "left" if (s.cx + d.cx) / 2 < middle else "right"
            lanes[side_name] += 1
            step = (lanes[side_name] - 1) % 4 * (BACK_LANE // 2)
            y1, y2 = s.y + NODE_H // 2, d.y + NODE_H // 2
            if side_name == "right":
                lane_x = left + inner_w + BACK_LANE + step
                x1, x2, x2_tip = s.x + NODE_W, d.x + NODE_W, d.x + NODE_W + 2
            else:
                lane_x = left - BACK_LANE - step
                x1, x2, x2_tip = s.x, d.x, d.x - 2
            a.path = f"M{x1},{y1} C{lane_x},{y1} {lane_x},{y2} {x2_tip},{y2}"
    width = left + inner_w + side + MARGIN
    height = MARGIN * 2 + (last + 2) * NODE_H + (last + 1) * GAP_Y
    return Diagram(
        boxes=sorted(boxes.values(), key=lambda b: (b.layer, b.x)),
        arrows=arrows,
        width=width,
        height=height,
        current=[],
    )


def for_flow(flow_class, *, done=(), current=()) -> Diagram:
    """The diagram of a flow; ``done`` / ``current``: node names a case's tasks went / are."""
    boxes, arrows = graph(flow_class)
    diagram = layout(boxes, _fold_exits(boxes, arrows))
    done, current = set(done), set(current)
    visited = done | current
    for b in diagram.boxes:
        if b.name in current:
            b.state = "current"
        elif b.name in done:
            b.state = "done"
    for a in diagram.arrows:
        a.taken = a.src in visited and a.dst in visited
    diagram.current = [b.label for b in diagram.boxes if b.state == "current"]
    return diagram


def for_kind(kind) -> Diagram:
    diagram = for_flow(kind.flow_class)
    diagram.kind_code = kind.code
    return diagram


def for_case(kind, case) -> Diagram:
    """The kind's diagram with the path of ``case`` marked, from its tasks (one query): the steps it
    went through, the open ones, the start; the end once the flow finished."""
    from .models import CaseProcess, CaseTask

    done: set[str] = {"start"}
    current: set[str] = set()
    rows = CaseTask.objects.filter(case_type=kind.code, case_id=case.pk).values_list(
        "flow_task", "status", "finished"
    )
    for flow_task, status, finished in rows:
        name = getattr(flow_task, "name", None) or str(flow_task).rsplit(".", 1)[-1]
        if status in ("NEW", "ASSIGNED", "STARTED", "SCHEDULED"):
            current.add(name)
        elif finished is not None or status == "DONE":
            done.add(name)
    finished_flow = (
        CaseProcess.objects.filter(case_type=kind.code, case_id=case.pk, finished__isnull=False).exists()
        if not current
        else False
    )
    if finished_flow:
        done.add("end")
    diagram = for_flow(kind.flow_class, done=done - current, current=current)
    diagram.kind_code = kind.code
    return diagram
