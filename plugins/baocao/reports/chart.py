"""Charts for the report (matplotlib, headless)."""

from __future__ import annotations

from io import BytesIO

from baocao.reports.context import ReportData


def departures_chart(data: ReportData) -> bytes:
    """Departures by market (bars) and each target against what was achieved; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from baocao.reports.context import target_rows
    from baocao.vn_numbers import format_vn_number

    prog = data.prog
    markets = prog.dimension("market").members
    values = [data.headline_totals.get(("W_DEP", m.code, "total"), 0.0) for m in markets]
    targets = target_rows(data)
    fmt = FuncFormatter(lambda v, _pos: format_vn_number(v))
    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9})
    fig, axes = plt.subplots(1, 2 if targets else 1, figsize=(9, 3.6), dpi=130,
                             gridspec_kw={"width_ratios": [3, 2]} if targets else None)
    ax = axes[0] if targets else axes
    ax.barh([m.name_on(data.period.deadline) for m in markets][::-1], values[::-1],
            color="#2f5597")
    ax.set_title(f"Lao động đi làm việc ở nước ngoài theo thị trường\n{data.period.title}")
    ax.xaxis.set_major_formatter(fmt)
    ax.set_xlim(0, max([*values, 1]) * 1.15)  # room for the value labels
    for i, v in enumerate(values[::-1]):
        ax.annotate(format_vn_number(v), (v, i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    if targets:
        ax2 = axes[1]
        import textwrap

        names = [t["name"].replace("Lao động đi làm việc tại ", "") for t in targets]
        names = [textwrap.shorten(n, 60, placeholder="…") for n in names]
        names = ["\n".join(textwrap.wrap(n, 22)) for n in names]
        xs = range(len(targets))
        ax2.bar([x - 0.2 for x in xs], [t["target_value"] for t in targets], 0.4,
                label="Mục tiêu", color="#bfbfbf")
        ax2.bar([x + 0.2 for x in xs], [t["achieved_value"] for t in targets], 0.4,
                label="Thực hiện", color="#c00000")
        ax2.set_xticks(list(xs), names, fontsize=7)
        ax2.yaxis.set_major_formatter(fmt)
        ax2.set_title("Thực hiện so với mục tiêu")
        ax2.legend(fontsize=7)
    # fixed margins (tight_layout costs a third of the chart's time): room for market names
    longest = max((len(m.name_on(data.period.deadline)) for m in markets), default=10)
    fig.subplots_adjust(left=min(0.4, 0.03 + 0.0085 * longest), right=0.98, top=0.86,
                        bottom=0.2 if targets else 0.1, wspace=0.3)
    buf = BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
