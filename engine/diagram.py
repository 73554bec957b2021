"""Draw a process from its BPMN file's own diagram interchange (DI) as inline SVG.

Why: the case page shows staff where a case stands on the very picture the analyst drew in Camunda
Modeler, so every position comes from ``BPMNShape`` bounds and ``BPMNEdge`` waypoints, never from a
layout of our own. The SVG is built as an element tree, so every name taken from the file is escaped
by the serializer; the file itself is read by the same safe reader deployment uses (no DTD, no
entities, no network).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from lxml import etree

from engine.compat.xmlsafe import UnreadableXml, read_xml
from engine.errors import InvalidInput, NotFound

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SVG = "http://www.w3.org/2000/svg"

FONT_SIZE = 12
LINE_HEIGHT = 14
MARGIN = 12

CONTAINERS = {"participant", "lane", "subProcess", "transaction", "adHocSubProcess"}
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}

STYLE = """
.bpmn-diagram{font-family:"Microsoft YaHei","WenQuanYi Micro Hei","PingFang SC",Arial,sans-serif;font-size:12px}
.bpmn-diagram .shape{fill:#fff;stroke:#3a3a3a;stroke-width:1.5}
.bpmn-diagram .frame{fill:none;stroke:#3a3a3a;stroke-width:1.5}
.bpmn-diagram .group{fill:none;stroke:#3a3a3a;stroke-width:1;stroke-dasharray:8 4 1 4}
.bpmn-diagram .thick{stroke-width:4}
.bpmn-diagram .dashed{stroke-dasharray:5 3}
.bpmn-diagram .dotted{stroke-dasharray:1.5 3}
.bpmn-diagram .marker{fill:none;stroke:#3a3a3a;stroke-width:1.5}
.bpmn-diagram .marker.filled{fill:#3a3a3a}
.bpmn-diagram .line{fill:none;stroke:#3a3a3a;stroke-width:1.5}
.bpmn-diagram .head{fill:#3a3a3a;stroke:#3a3a3a;stroke-width:1}
.bpmn-diagram .head.open{fill:#fff}
.bpmn-diagram text{fill:#222;stroke:none}
.bpmn-diagram .done .shape{fill:#e7f3e9;stroke:#2e7d32}
.bpmn-diagram .done .line{stroke:#2e7d32}
.bpmn-diagram .done .head{fill:#2e7d32;stroke:#2e7d32}
.bpmn-diagram .active .shape{fill:#fff3cf;stroke:#b86e00;stroke-width:3}
.bpmn-diagram .escalated .shape{fill:#fde5e5;stroke:#c62828;stroke-width:3}
.bpmn-diagram .escalated .line{stroke:#c62828}
.bpmn-diagram .added .shape{fill:#e3f5e1;stroke:#1b7f2a;stroke-width:3}
.bpmn-diagram .added .line{stroke:#1b7f2a;stroke-width:3}
.bpmn-diagram .added .head{fill:#1b7f2a;stroke:#1b7f2a}
.bpmn-diagram .removed .shape{fill:#fde5e5;stroke:#c62828;stroke-width:3;stroke-dasharray:6 3}
.bpmn-diagram .removed .line{stroke:#c62828;stroke-width:3;stroke-dasharray:6 3}
.bpmn-diagram .removed .head{fill:#c62828;stroke:#c62828}
.bpmn-diagram .changed .shape{fill:#fff3cf;stroke:#b86e00;stroke-width:3}
.bpmn-diagram .changed .line{stroke:#b86e00;stroke-width:3}
.bpmn-diagram .changed .head{fill:#b86e00;stroke:#b86e00}
"""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Shape:
    element: etree._Element
    di: etree._Element
    box: Box
    label: Box | None

    @property
    def kind(self) -> str:
        return etree.QName(self.element).localname

    @property
    def id(self) -> str:
        return self.element.get("id", "")


def render_svg(bpmn: bytes, process_id: str, *, completed: Collection[str] = (),
               active: Collection[str] = (), escalated: Collection[str] = (),
               added: Collection[str] = (), removed: Collection[str] = (), changed: Collection[str] = ()) -> str:
    """The diagram of ``process_id`` as an ``<svg>`` string, with element groups classed by state
    (a case's: completed, active, escalated; a version diff's: added, removed, changed).

    Raises ``NotFound`` when the file has no such process or no drawing of it, and
    ``InvalidInput`` when the file is not XML.
    """
    root = _parse(bpmn)
    elements = {el.get("id"): el for el in root.iter() if el.get("id")}
    plane = _plane_of(root, elements, process_id)
    shapes, edges, bounds = _read_plane(plane, elements)
    states = {"done": set(completed), "active": set(active), "escalated": set(escalated),
              "added": set(added), "removed": set(removed), "changed": set(changed)}
    svg = _canvas(bounds, _title_of(elements, process_id))
    edge_layer = etree.Element(f"{{{SVG}}}g", {"class": "edges"})
    for element, points, label in edges:
        classes = _classes(etree.QName(element).localname, element.get("id", ""), states)
        edge_layer.append(_draw_edge(element, points, label, elements, classes))
    for shape in _layered(shapes):
        svg.append(edge_layer if shape is None else
                   _draw_shape(shape, elements, _classes(shape.kind, shape.id, states)))
    return etree.tostring(svg, encoding="unicode")


def _parse(bpmn: bytes) -> etree._Element:
    try:
        return read_xml(bpmn)
    except UnreadableXml as error:
        raise InvalidInput(f"BPMN 文件无法读取（第 {error.line} 行），不能绘制流程图：{error.message}") from None


def _plane_of(root: etree._Element, elements: dict, process_id: str) -> etree._Element:
    """The plane that draws the process: its own, or that of a collaboration it takes part in."""
    process = elements.get(process_id)
    if process is None or etree.QName(process).localname != "process":
        raise NotFound(f"BPMN 文件中没有流程 {process_id}")
    owners = {process_id} | {
        collab.get("id") for collab in root.iter(f"{{{BPMN}}}collaboration")
        if any(p.get("processRef") == process_id for p in collab.iter(f"{{{BPMN}}}participant"))}
    planes = list(root.iter(f"{{{BPMNDI}}}BPMNPlane"))
    for plane in planes:
        if plane.get("bpmnElement") in owners:
            return plane
    # The modeler keeps a stale plane reference after a process id is renamed; such a plane
    # still draws the process, so pick the one that draws most of its elements.
    members = {el.get("id") for el in process.iter() if el.get("id")}
    drawn = [(sum(di.get("bpmnElement") in members for di in plane), i) for i, plane in enumerate(planes)]
    best = max(drawn, default=(0, 0))
    if best[0]:
        return planes[best[1]]
    raise NotFound(f"流程 {process_id} 没有图形信息（BPMNDiagram），无法绘制流程图")


def _read_plane(plane: etree._Element, elements: dict):
    shapes: list[Shape] = []
    edges: list[tuple] = []
    xs: list[float] = []
    ys: list[float] = []
    for di in plane:
        element = elements.get(di.get("bpmnElement"))
        if element is None or not isinstance(di.tag, str):
            continue
        label = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds"))
        if etree.QName(di).localname == "BPMNShape":
            box = _bounds(di.find(f"{{{DC}}}Bounds"))
            if box is None:
                continue
            shapes.append(Shape(element, di, box, label))
            xs += [box.x, box.x + box.w]
            ys += [box.y, box.y + box.h]
        elif etree.QName(di).localname == "BPMNEdge":
            points = [p for p in (_point(w) for w in di.iter(f"{{{DI}}}waypoint")) if p]
            if len(points) < 2:
                continue
            edges.append((element, points, label))
            xs += [p[0] for p in points]
            ys += [p[1] for p in points]
        if label is not None:
            xs += [label.x, label.x + label.w]
            ys += [label.y, label.y + label.h]
    if not xs:
        raise NotFound("流程图中没有任何图形，无法绘制")
    return shapes, edges, Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bounds(el: etree._Element | None) -> Box | None:
    if el is None:
        return None
    values = [_number(el.get(k)) for k in ("x", "y", "width", "height")]
    if any(v is None for v in values) or values[2] < 0 or values[3] < 0:
        return None
    return Box(*values)


def _point(el: etree._Element) -> tuple[float, float] | None:
    x, y = _number(el.get("x")), _number(el.get("y"))
    return None if x is None or y is None else (x, y)


def _title_of(elements: dict, process_id: str) -> str:
    return elements[process_id].get("name") or process_id


def _canvas(bounds: Box, title: str) -> etree._Element:
    x, y = bounds.x - MARGIN, bounds.y - MARGIN
    w, h = bounds.w + 2 * MARGIN, bounds.h + 2 * MARGIN
    svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG}, attrib={
        "class": "bpmn-diagram", "role": "img", "viewBox": f"{_n(x)} {_n(y)} {_n(w)} {_n(h)}",
        "width": _n(w), "height": _n(h)})
    etree.SubElement(svg, f"{{{SVG}}}title").text = f"流程图：{title}"
    etree.SubElement(svg, f"{{{SVG}}}style").text = STYLE
    return svg


def _layered(shapes: list[Shape]) -> list[Shape | None]:
    """Containers first (outermost first), then the edge layer's position, then nodes."""
    def is_container(s: Shape) -> bool:
        return s.kind in {"participant", "lane"} or (s.kind in CONTAINERS and _expanded(s))
    containers = sorted((s for s in shapes if is_container(s)), key=lambda s: -s.box.w * s.box.h)
    nodes = [s for s in shapes if not is_container(s) and s.kind != "boundaryEvent"]
    boundary = [s for s in shapes if s.kind == "boundaryEvent"]
    return containers + [None] + nodes + boundary  # None marks where the edge layer belongs


def _expanded(shape: Shape) -> bool:
    return shape.di.get("isExpanded") == "true"


def _classes(kind: str, element_id: str, states: dict[str, set[str]]) -> str:
    return " ".join(["el", kind] + [name for name, ids in states.items() if element_id in ids])


def _sub(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    return etree.SubElement(parent, f"{{{SVG}}}{tag}",
                            {k.rstrip("_").replace("_", "-"): _n(v) if isinstance(v, float) else str(v)
                             for k, v in attrs.items()})


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# ---- shapes ---------------------------------------------------------------------------------------

def _draw_shape(shape: Shape, elements: dict, classes: str) -> etree._Element:
    group = etree.Element(f"{{{SVG}}}g", {"class": classes, "data-element-id": shape.id})
    name = _name(shape.element)
    etree.SubElement(group, f"{{{SVG}}}title").text = f"{name} ({shape.id})" if name else shape.id
    kind = shape.kind
    if kind in {"participant", "lane"}:
        _draw_frame(group, shape, name)
    elif kind in ACTIVITIES:
        _draw_activity(group, shape, name)
    elif kind in EVENTS:
        _draw_event(group, shape)
        _outside_label(group, shape, name)
    elif kind in GATEWAYS:
        _draw_gateway(group, shape)
        _outside_label(group, shape, name)
    elif kind == "textAnnotation":
        _draw_annotation(group, shape, name)
    elif kind == "group":
        b = shape.box
        _sub(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10.0, class_="group")
        _outside_label(group, shape, _group_label(shape.element, elements))
    elif kind in {"dataObjectReference", "dataObject", "dataInput", "dataOutput"}:
        _draw_data_object(group, shape.box)
        _outside_label(group, shape, name)
    elif kind == "dataStoreReference":
        _draw_data_store(group, shape.box)
        _outside_label(group, shape, name)
    else:
        b = shape.box
        _sub(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, class_="shape dashed")
    return group


def _name(element: etree._Element) -> str:
    if etree.QName(element).localname == "textAnnotation":
        return (element.findtext(f"{{{BPMN}}}text") or "").strip()
    return (element.get("name") or "").strip()


def _group_label(element: etree._Element, elements: dict) -> str:
    value = elements.get(element.get("categoryValueRef") or "")
    return (value.get("value") or "").strip() if value is not None else _name(element)


def _draw_frame(group: etree._Element, shape: Shape, name: str) -> None:
    """Pools and lanes: a frame with the name written sideways in a 30 px band (as the modeler does)."""
    b = shape.box
    _sub(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, class_="frame")
    horizontal = shape.di.get("isHorizontal") != "false"
    if shape.kind == "participant":
        if horizontal:
            _sub(group, "line", x1=b.x + 30, y1=b.y, x2=b.x + 30, y2=b.y + b.h, class_="line")
        else:
            _sub(group, "line", x1=b.x, y1=b.y + 30, x2=b.x + b.w, y2=b.y + 30, class_="line")
    if horizontal:
        _text(group, wrap(name, b.h - 10, 2), b.x + 15, b.y + b.h / 2, rotate=True)
    else:
        _text(group, wrap(name, b.w - 10, 2), b.cx, b.y + 15)


def _draw_activity(group: etree._Element, shape: Shape, name: str) -> None:
    b, kind, el = shape.box, shape.kind, shape.element
    css = "shape"
    if kind == "callActivity":
        css += " thick"
    if el.get("triggeredByEvent") == "true":
        css += " dotted"
    _sub(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10.0, class_=css)
    if kind == "transaction":
        _sub(group, "rect", x=b.x + 3, y=b.y + 3, width=max(b.w - 6, 0), height=max(b.h - 6, 0),
             rx=8.0, class_="frame")
    if kind in CONTAINERS and _expanded(shape):
        _text(group, wrap(name, b.w - 16, 2), b.x + 8, b.y + 16, anchor="start")
        return
    _task_icon(group, kind, b)
    lines = wrap(name, b.w - 12, max(int((b.h - 20) // LINE_HEIGHT), 1))
    _text(group, lines, b.cx, b.cy - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE / 3)
    _activity_markers(group, shape)


def _task_icon(group: etree._Element, kind: str, b: Box) -> None:
    x, y = b.x + 6, b.y + 6
    if kind == "userTask":
        _sub(group, "circle", cx=x + 7, cy=y + 4, r=3.5, class_="marker")
        _sub(group, "path", d=f"M{_n(x)} {_n(y + 15)}v-3a7 5 0 0 1 14 0v3z", class_="marker")
    elif kind == "serviceTask":
        _sub(group, "circle", cx=x + 7, cy=y + 7, r=6.0, class_="marker dashed")
        _sub(group, "circle", cx=x + 7, cy=y + 7, r=2.5, class_="marker")
    elif kind == "scriptTask":
        _sub(group, "path", d=f"M{_n(x + 2)} {_n(y)}h10q-4 7 0 14h-10q4-7 0-14z"
                            f"M{_n(x + 3)} {_n(y + 4)}h6M{_n(x + 4)} {_n(y + 10)}h6", class_="marker")
    elif kind == "businessRuleTask":
        _sub(group, "rect", x=x, y=y, width=16.0, height=12.0, class_="marker")
        _sub(group, "path", d=f"M{_n(x)} {_n(y + 4)}h16M{_n(x + 5)} {_n(y + 4)}v8", class_="marker")
    elif kind in {"sendTask", "receiveTask"}:
        _envelope(group, x + 8, y + 6, 1.0, filled=kind == "sendTask")
    elif kind == "manualTask":
        _sub(group, "path", d=f"M{_n(x)} {_n(y + 10)}l5-7h9M{_n(x + 5)} {_n(y + 7)}h8"
                            f"M{_n(x + 5)} {_n(y + 10)}h8M{_n(x)} {_n(y + 10)}v3h12", class_="marker")


def _activity_markers(group: etree._Element, shape: Shape) -> None:
    """Bottom-centre markers side by side: multi-instance bars or loop arrow, collapsed-subprocess plus."""
    b, el = shape.box, shape.element
    y = b.y + b.h - 14
    mi = el.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    paths = []
    if mi is not None and mi.get("isSequential") == "true":
        paths.append(lambda x: "".join(f"M{_n(x - 6)} {_n(y + i * 4)}h12" for i in range(3)))
    elif mi is not None:
        paths.append(lambda x: "".join(f"M{_n(x - 4 + i * 4)} {_n(y)}v10" for i in range(3)))
    elif el.find(f"{{{BPMN}}}standardLoopCharacteristics") is not None:
        paths.append(lambda x: f"M{_n(x - 3)} {_n(y + 10)}a5 5 0 1 1 6 0l0-3m0 3l3 0")
    if shape.kind in CONTAINERS or (shape.kind == "callActivity" and shape.di.get("isExpanded") == "false"):
        paths.append(lambda x: f"M{_n(x - 7)} {_n(y - 1)}h14v14h-14zM{_n(x - 4)} {_n(y + 6)}h8M{_n(x)} {_n(y + 2)}v8")
    for i, draw in enumerate(paths):
        _sub(group, "path", d=draw(b.cx + (i - (len(paths) - 1) / 2) * 18), class_="marker")


def _draw_event(group: etree._Element, shape: Shape) -> None:
    b, kind, el = shape.box, shape.kind, shape.element
    r = min(b.w, b.h) / 2
    non_interrupting = el.get("cancelActivity") == "false" or el.get("isInterrupting") == "false"
    css = "shape" + (" thick" if kind == "endEvent" else "") + (" dashed" if non_interrupting else "")
    _sub(group, "circle", cx=b.cx, cy=b.cy, r=r, class_=css)
    if kind in {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}:
        _sub(group, "circle", cx=b.cx, cy=b.cy, r=max(r - 3, 1), class_="frame" + (" dashed" if non_interrupting else ""))
    throw = kind in {"endEvent", "intermediateThrowEvent"}
    for definition in el:
        if isinstance(definition.tag, str) and definition.tag.endswith("EventDefinition"):
            _event_marker(group, etree.QName(definition).localname[:-len("EventDefinition")],
                          b.cx, b.cy, r / 18, throw)
            break


def _event_marker(group: etree._Element, what: str, cx: float, cy: float, s: float, throw: bool) -> None:
    """The symbol inside an event circle, drawn for the modeler's 36 px circle and scaled by ``s``."""
    css = "marker filled" if throw else "marker"

    def path(points: Iterable[tuple[float, float]], close: bool = True) -> str:
        d = "M" + "L".join(f"{_n(cx + px * s)} {_n(cy + py * s)}" for px, py in points)
        return d + ("z" if close else "")

    if what == "timer":
        _sub(group, "circle", cx=cx, cy=cy, r=11 * s, class_="marker")
        _sub(group, "path", d=path([(0, -8), (0, 0), (6, 3)], close=False), class_="marker")
    elif what == "message":
        _envelope(group, cx, cy, s, filled=throw)
    elif what == "signal":
        _sub(group, "path", d=path([(0, -10), (9, 7), (-9, 7)]), class_=css)
    elif what == "error":
        _sub(group, "path", d=path([(-9, 9), (-4, -9), (2, 2), (9, -9), (5, 9), (-1, -2)]), class_=css)
    elif what == "escalation":
        _sub(group, "path", d=path([(0, -10), (7, 9), (0, 2), (-7, 9)]), class_=css)
    elif what == "terminate":
        _sub(group, "circle", cx=cx, cy=cy, r=10 * s, class_="marker filled")
    elif what == "conditional":
        _sub(group, "rect", x=cx - 7 * s, y=cy - 9 * s, width=14 * s, height=18 * s, class_="marker")
        _sub(group, "path", d="".join(path([(-4, y), (4, y)], close=False) for y in (-5, -1, 3, 6)),
             class_="marker")
    elif what == "link":
        _sub(group, "path", d=path([(-9, -3), (2, -3), (2, -8), (9, 0), (2, 8), (2, 3), (-9, 3)]), class_=css)
    elif what == "cancel":
        _sub(group, "path", d=path([(-7, -7), (7, 7)], close=False) + path([(7, -7), (-7, 7)], close=False),
             class_="marker thick")
    elif what == "compensate":
        _sub(group, "path", d=path([(-10, 0), (-1, -7), (-1, 7)]) + path([(-1, 0), (8, -7), (8, 7)]), class_=css)


def _envelope(group: etree._Element, cx: float, cy: float, s: float, filled: bool) -> None:
    w, h = 16 * s, 11 * s
    _sub(group, "rect", x=cx - w / 2, y=cy - h / 2, width=w, height=h,
         class_="marker filled" if filled else "marker")
    _sub(group, "path", d=f"M{_n(cx - w / 2)} {_n(cy - h / 2)}L{_n(cx)} {_n(cy)}L{_n(cx + w / 2)} {_n(cy - h / 2)}",
         class_="marker", style="stroke:#fff" if filled else "")


def _draw_gateway(group: etree._Element, shape: Shape) -> None:
    b, kind = shape.box, shape.kind
    _sub(group, "path", d=f"M{_n(b.cx)} {_n(b.y)}L{_n(b.x + b.w)} {_n(b.cy)}L{_n(b.cx)} {_n(b.y + b.h)}"
                         f"L{_n(b.x)} {_n(b.cy)}z", class_="shape")
    cx, cy, s = b.cx, b.cy, b.w / 50
    if kind == "exclusiveGateway" and shape.di.get("isMarkerVisible") == "true":
        _sub(group, "path", d=f"M{_n(cx - 8 * s)} {_n(cy - 8 * s)}l{_n(16 * s)} {_n(16 * s)}"
                             f"M{_n(cx + 8 * s)} {_n(cy - 8 * s)}l{_n(-16 * s)} {_n(16 * s)}",
             class_="marker thick")
    elif kind == "parallelGateway":
        _sub(group, "path", d=f"M{_n(cx)} {_n(cy - 11 * s)}v{_n(22 * s)}M{_n(cx - 11 * s)} {_n(cy)}h{_n(22 * s)}",
             class_="marker thick")
    elif kind == "inclusiveGateway":
        _sub(group, "circle", cx=cx, cy=cy, r=10 * s, class_="marker thick")
    elif kind == "complexGateway":
        _sub(group, "path", d=f"M{_n(cx)} {_n(cy - 11 * s)}v{_n(22 * s)}M{_n(cx - 11 * s)} {_n(cy)}h{_n(22 * s)}"
                             f"M{_n(cx - 8 * s)} {_n(cy - 8 * s)}l{_n(16 * s)} {_n(16 * s)}"
                             f"M{_n(cx + 8 * s)} {_n(cy - 8 * s)}l{_n(-16 * s)} {_n(16 * s)}", class_="marker thick")
    elif kind == "eventBasedGateway":
        _sub(group, "circle", cx=cx, cy=cy, r=12 * s, class_="marker")
        _sub(group, "circle", cx=cx, cy=cy, r=9 * s, class_="marker")
        pts = [(cx + 6 * s * math.sin(a), cy - 6 * s * math.cos(a)) for a in
               (i * 2 * math.pi / 5 for i in range(5))]
        _sub(group, "path", d="M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in pts) + "z", class_="marker")


def _draw_annotation(group: etree._Element, shape: Shape, text: str) -> None:
    b = shape.box
    _sub(group, "path", d=f"M{_n(b.x + 10)} {_n(b.y)}H{_n(b.x)}V{_n(b.y + b.h)}H{_n(b.x + 10)}", class_="line")
    lines = wrap(text, b.w - 10, max(int((b.h - 4) // LINE_HEIGHT), 1))
    _text(group, lines, b.x + 5, b.y + 4 + FONT_SIZE, anchor="start")


def _draw_data_object(group: etree._Element, b: Box) -> None:
    fold = min(10.0, b.w / 3)
    _sub(group, "path", d=f"M{_n(b.x)} {_n(b.y)}H{_n(b.x + b.w - fold)}L{_n(b.x + b.w)} {_n(b.y + fold)}"
                         f"V{_n(b.y + b.h)}H{_n(b.x)}z", class_="shape")


def _draw_data_store(group: etree._Element, b: Box) -> None:
    ry = min(6.0, b.h / 6)
    _sub(group, "path", d=f"M{_n(b.x)} {_n(b.y + ry)}A{_n(b.w / 2)} {_n(ry)} 0 0 1 {_n(b.x + b.w)} {_n(b.y + ry)}"
                         f"V{_n(b.y + b.h - ry)}A{_n(b.w / 2)} {_n(ry)} 0 0 1 {_n(b.x)} {_n(b.y + b.h - ry)}z"
                         f"M{_n(b.x)} {_n(b.y + ry)}A{_n(b.w / 2)} {_n(ry)} 0 0 0 {_n(b.x + b.w)} {_n(b.y + ry)}",
         class_="shape")


def _outside_label(group: etree._Element, shape: Shape, name: str) -> None:
    """Events, gateways, data: the name sits in the DI label box, or under the shape without one."""
    if not name:
        return
    if shape.label is not None:
        box = shape.label
        lines = wrap(name, max(box.w, 90), max(int(box.h // LINE_HEIGHT) + 1, 4))
    else:
        box = Box(shape.box.cx - 45, shape.box.y + shape.box.h + 5, 90, LINE_HEIGHT)
        lines = wrap(name, 90, 4)
    _text(group, lines, box.cx, box.y + FONT_SIZE - 1)


# ---- edges ----------------------------------------------------------------------------------------

def _draw_edge(element: etree._Element, points: list[tuple[float, float]], label: Box | None,
               elements: dict, classes: str) -> etree._Element:
    kind = etree.QName(element).localname
    element_id = element.get("id", "")
    group = etree.Element(f"{{{SVG}}}g", {"class": classes, "data-element-id": element_id})
    name = _name(element)
    etree.SubElement(group, f"{{{SVG}}}title").text = f"{name} ({element_id})" if name else element_id
    css = {"messageFlow": "line dashed", "association": "line dotted",
           "dataInputAssociation": "line dotted", "dataOutputAssociation": "line dotted"}.get(kind, "line")
    _sub(group, "polyline", points=" ".join(f"{_n(x)},{_n(y)}" for x, y in points), class_=css)
    if kind == "sequenceFlow":
        _arrow_head(group, points[-2], points[-1], open_=False)
        source = elements.get(element.get("sourceRef") or "")
        if source is not None and source.get("default") == element_id:
            _default_slash(group, points[0], points[1])
    elif kind == "messageFlow":
        _sub(group, "circle", cx=points[0][0], cy=points[0][1], r=4.0, class_="head open")
        _arrow_head(group, points[-2], points[-1], open_=True)
    elif kind in {"dataInputAssociation", "dataOutputAssociation"} or element.get("associationDirection") == "One":
        _arrow_head(group, points[-2], points[-1], open_=True, line=True)
    if name:
        box = label or _midpoint_box(points)
        _text(group, wrap(name, max(box.w, 90), 3), box.cx, box.y + FONT_SIZE - 1)
    return group


def _unit(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    return dx / length, dy / length


def _arrow_head(group: etree._Element, a: tuple[float, float], b: tuple[float, float],
                open_: bool, line: bool = False) -> None:
    ux, uy = _unit(a, b)
    bx, by = b[0] - ux * 11, b[1] - uy * 11
    left, right = (bx - uy * 4, by + ux * 4), (bx + uy * 4, by - ux * 4)
    d = f"M{_n(left[0])} {_n(left[1])}L{_n(b[0])} {_n(b[1])}L{_n(right[0])} {_n(right[1])}"
    _sub(group, "path", d=d if line else d + "z", class_="line" if line else "head open" if open_ else "head")


def _default_slash(group: etree._Element, a: tuple[float, float], b: tuple[float, float]) -> None:
    ux, uy = _unit(a, b)
    mx, my = a[0] + ux * 10, a[1] + uy * 10
    _sub(group, "path", d=f"M{_n(mx - ux * 4 - uy * 5)} {_n(my - uy * 4 + ux * 5)}"
                         f"L{_n(mx + ux * 4 + uy * 5)} {_n(my + uy * 4 - ux * 5)}", class_="line")


def _midpoint_box(points: list[tuple[float, float]]) -> Box:
    a, b = points[(len(points) - 1) // 2], points[len(points) // 2 if len(points) > 2 else 1]
    return Box((a[0] + b[0]) / 2 - 45, (a[1] + b[1]) / 2 - LINE_HEIGHT - 2, 90, LINE_HEIGHT)


# ---- text -----------------------------------------------------------------------------------------

def _text(group: etree._Element, lines: list[str], x: float, y: float, *,
          anchor: str = "middle", rotate: bool = False) -> None:
    """Lines as ``<tspan>``s; ``y`` is the baseline of the first line (or the centre when rotated)."""
    if not lines:
        return
    if rotate:
        y0 = y - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE / 3
        text = _sub(group, "text", x=x, y=y0, text_anchor=anchor, transform=f"rotate(-90 {_n(x)} {_n(y)})")
    else:
        text = _sub(group, "text", x=x, y=y, text_anchor=anchor)
    for i, line in enumerate(lines):
        span = _sub(text, "tspan", x=x, dy=float(LINE_HEIGHT if i else 0))
        span.text = line


def char_width(char: str) -> float:
    """Approximate advance at 12 px: CJK and full-width characters are square, Latin about half."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return FONT_SIZE
    return 3.5 if char in " il.,:;'|!" else 6.5


def _tokens(paragraph: str) -> list[str]:
    """Words of Latin text (with their trailing space) and single wide characters."""
    return re.findall(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
                      r"\uffe0-\uffe6]\s*|[^\s\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff"
                      r"\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]+\s*|\s+", paragraph)


def wrap(text: str, width: float, max_lines: int) -> list[str]:
    """Break ``text`` into lines that fit ``width`` pixels; cut with an ellipsis after ``max_lines``."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line, used = "", 0.0
        for token in _tokens(paragraph):
            pieces = [token] if _width(token.rstrip()) <= width else list(token)
            for piece in pieces:
                w = _width(piece)
                if line.strip() and used + _width(piece.rstrip()) > width:
                    lines.append(line.rstrip())
                    line, used = piece.lstrip(), _width(piece.lstrip())
                else:
                    line, used = line + piece, used + w
        if line.strip():
            lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…" if len(lines[-1]) > 1 else "…"
    return lines


def _width(text: str) -> float:
    return sum(char_width(c) for c in text)
