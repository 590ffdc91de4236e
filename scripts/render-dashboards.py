#!/usr/bin/env python3
"""Renders each dashboard of dashboards/*.json to an SVG picture, from a Prometheus that
watched a run: every panel's queries are evaluated the way Grafana would (variables set to
All, $__range the whole run) and drawn at the panel's grid position — stats as numbers,
time series as lines, tables, bar gauges and pie charts as labelled values. It is a faithful
picture of what each panel shows, not Grafana's own styling.

    scripts/render-dashboards.py PROMETHEUS_URL START END OUT_DIR   (START/END: unix seconds)
"""
import html
import json
import math
import sys
import urllib.parse
import urllib.request
from pathlib import Path

PROM, START, END, OUT = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
RANGE = max(1, int(END - START))
COLUMN, ROW = 60, 36  # pixels per grid column (24 across) and per grid row
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#8ab8ff", "#96d98d"]
UNITS = {"s": "s", "percentunit": "%", "bytes": "B", "reqps": "req/s", "ops": "/s"}


def expand(expr):
    for name, value in [("$queue", ".*"), ("$team", ".*"), ("$agent", ".*"),
                        ("$__range_s", str(RANGE)), ("$__range", f"{RANGE}s"),
                        ("$__rate_interval", "30s")]:
        expr = expr.replace(name, value)
    return expr


def get(path, params):
    url = f"{PROM}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as r:
        answer = json.load(r)
    if answer.get("status") != "success":
        raise SystemExit(f"query failed: {params}: {answer}")
    return answer["data"]["result"]


def instant(expr):
    return get("/api/v1/query", {"query": expand(expr), "time": END})


def series(expr):
    step = max(1, RANGE // 120)
    return get("/api/v1/query_range", {"query": expand(expr), "start": START, "end": END, "step": step})


def legend(fmt, metric):
    text = fmt or ""
    for key, value in metric.items():
        text = text.replace("{{" + key + "}}", value)
    return text if "{{" not in text else ", ".join(f"{k}={v}" for k, v in metric.items()) or "value"


def number(value, unit):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v) or math.isinf(v):
        return "—"
    if unit == "percentunit":
        return f"{v * 100:.1f}%"
    if unit == "bool_yes_no":
        return "yes" if v >= 1 else "no"
    if unit == "bytes":
        for suffix in ["B", "KiB", "MiB", "GiB"]:
            if abs(v) < 1024:
                return f"{v:.1f} {suffix}"
            v /= 1024
        return f"{v:.1f} TiB"
    if unit == "s":
        if 0 < abs(v) < 0.001:
            return f"{v * 1e6:.0f} µs"
        return f"{v * 1000:.0f} ms" if 0 < abs(v) < 1 else f"{v:.1f} s"
    text = f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.2f}"
    return text + (" " + UNITS[unit] if unit in UNITS and unit not in ("s",) else "")


def esc(text):
    return html.escape(str(text), quote=True)


def panel_svg(panel, x, y, w, h):
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    kind = panel["type"]
    out = [f'<rect x="{x+4}" y="{y+4}" width="{w-8}" height="{h-8}" rx="4" fill="#181b1f" stroke="#2c3235"/>',
           f'<text x="{x+14}" y="{y+24}" fill="#ccccdc" font-size="13" font-weight="600">{esc(panel["title"])}</text>']
    inner_top, inner_h = y + 34, h - 46
    targets = panel.get("targets", [])
    if kind == "stat":
        values = []
        for t in targets:
            for r in instant(t["expr"]):
                values.append((legend(t.get("legendFormat"), r["metric"]), r["value"][1]))
        if not values:
            values = [("", "nan")]
        cell = (w - 20) / len(values)
        for i, (label, value) in enumerate(values):
            cx = x + 10 + cell * i + cell / 2
            size = min(34, int(cell / 4))
            out.append(f'<text x="{cx}" y="{inner_top + inner_h/2 + 6}" fill="{COLORS[i % len(COLORS)]}" font-size="{size}" font-weight="700" text-anchor="middle">{esc(number(value, unit))}</text>')
            if len(values) > 1:
                out.append(f'<text x="{cx}" y="{inner_top + inner_h/2 + 26}" fill="#8e8e8e" font-size="11" text-anchor="middle">{esc(label)}</text>')
    elif kind == "timeseries":
        lines = []
        for t in targets:
            for r in series(t["expr"]):
                points = [(float(a), float(b)) for a, b in r["values"] if b not in ("NaN", "+Inf", "-Inf")]
                if points:
                    lines.append((legend(t.get("legendFormat"), r["metric"]), points))
        values = [p[1] for _, pts in lines for p in pts] or [0.0]
        top, bottom = max(values), min(0.0, min(values))
        top = top if top > bottom else bottom + 1
        px, pw, ph = x + 50, w - 70, inner_h - 34
        out.append(f'<text x="{x+46}" y="{inner_top+8}" fill="#8e8e8e" font-size="10" text-anchor="end">{esc(number(top, unit))}</text>')
        out.append(f'<text x="{x+46}" y="{inner_top+ph}" fill="#8e8e8e" font-size="10" text-anchor="end">{esc(number(bottom, unit))}</text>')
        out.append(f'<line x1="{px}" y1="{inner_top+ph}" x2="{px+pw}" y2="{inner_top+ph}" stroke="#2c3235"/>')
        for i, (label, pts) in enumerate(lines[:8]):
            coords = " ".join(f"{px + (a - START) / (END - START) * pw:.1f},{inner_top + ph - (b - bottom) / (top - bottom) * ph:.1f}" for a, b in pts)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{COLORS[i % len(COLORS)]}" stroke-width="1.5"/>')
            lx = x + 14 + (i % 4) * ((w - 20) / 4)
            ly = y + h - 22 + (i // 4) * 12 - (12 if len(lines) > 4 else 0)
            out.append(f'<text x="{lx}" y="{ly}" fill="{COLORS[i % len(COLORS)]}" font-size="10">■ {esc(label[:28])}</text>')
        if not lines:
            out.append(f'<text x="{x+w/2}" y="{inner_top+inner_h/2}" fill="#8e8e8e" font-size="12" text-anchor="middle">0</text>')
    else:  # table, bargauge, piechart: label → value rows
        rows = []
        for t in targets:
            for r in instant(t["expr"]):
                label = ", ".join(v for k, v in sorted(r["metric"].items())) or t.get("legendFormat", "")
                column = t.get("legendFormat", "")
                rows.append((label, column, r["value"][1]))
        values = [float(v) for _, _, v in rows if v not in ("NaN", "+Inf", "-Inf")] or [1.0]
        most = max(values) or 1.0
        for i, (label, column, value) in enumerate(rows[: int(inner_h // 16)]):
            ry = inner_top + 10 + i * 16
            name = label if kind != "table" or len(targets) == 1 else f"{label} · {column}"
            out.append(f'<text x="{x+14}" y="{ry}" fill="#ccccdc" font-size="11">{esc(name[:48])}</text>')
            if kind == "bargauge":
                try:
                    frac = max(0.0, float(value)) / most
                except ValueError:
                    frac = 0
                out.append(f'<rect x="{x+w*0.45}" y="{ry-10}" width="{(w*0.4)*frac:.1f}" height="11" fill="{COLORS[i % len(COLORS)]}"/>')
            out.append(f'<text x="{x+w-14}" y="{ry}" fill="#ccccdc" font-size="11" text-anchor="end">{esc(number(value, unit))}</text>')
    return out


def render(board_path):
    board = json.loads(board_path.read_text())
    panels, stack = [], list(board["panels"])
    while stack:
        p = stack.pop(0)
        panels.append(p)
        stack[0:0] = p.get("panels", [])
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * ROW + 50
    width = 24 * COLUMN
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Inter, Helvetica, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#111217"/>',
           f'<text x="12" y="30" fill="#ffffff" font-size="18" font-weight="700">{esc(board["title"])}</text>']
    for p in panels:
        g = p["gridPos"]
        x, y, w, h = g["x"] * COLUMN, 44 + g["y"] * ROW, g["w"] * COLUMN, g["h"] * ROW
        if p["type"] == "row":
            svg.append(f'<text x="{x+8}" y="{y+24}" fill="#d8d9da" font-size="14" font-weight="600">{esc(p["title"])}</text>')
            continue
        svg.extend(panel_svg(p, x, y, w, h))
    svg.append("</svg>")
    target = OUT / (board_path.stem + ".svg")
    target.write_text("\n".join(svg) + "\n")
    print(f"render-dashboards: wrote {target}")


OUT.mkdir(parents=True, exist_ok=True)
for name in ["wallboard", "agents", "operations"]:
    render(Path(__file__).resolve().parent.parent / "dashboards" / f"{name}.json")
