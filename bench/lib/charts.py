"""The benchmarks' charts, drawn with matplotlib (requirements-bench.txt; `make bench`
and `make bench-links` install it with lab/bootstrap --bench)."""
import sys


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        sys.exit("matplotlib is missing: run lab/bootstrap --bench (make bench-links does) to install "
                 "requirements-bench.txt into .venv")
    matplotlib.use("Agg")   # files only, no display
    from matplotlib import pyplot
    return pyplot


def _notes(figure, notes):
    figure.text(0.01, 0.01, "\n".join(notes), fontsize=7, color="#555555", va="bottom")


def throughput_chart(results, single, path, notes):
    """bench/throughput: Mbit/s against N, a line per mode and stream count; N = 1 is the
    single tunnel."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(9, 5.6))
    for mode, color, marker in (("packet", "tab:blue", "o"), ("flow", "tab:red", "s")):
        for count in sorted({r["streams"] for r in results}):
            points = sorted([(r["tunnels"], r["mbps"]) for r in results
                             if r["mode"] == mode and r["streams"] == count] +
                            ([(1, single[count])] if count in single else []))
            if len(points) > (1 if count in single else 0):
                axes.plot([p[0] for p in points], [p[1] for p in points], color=color, marker=marker,
                          linestyle="-" if count == 1 else "--",
                          label="%s, %d stream%s" % (mode, count, "" if count == 1 else "s"))
    axes.set(title="bond throughput lan-a -> lan-b (iperf3), CPU-bound lab", xlabel="tunnels (N)", ylabel="Mbit/s")
    axes.set_xticks(sorted({r["tunnels"] for r in results} | {1}))
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.subplots_adjust(bottom=0.2)
    _notes(figure, notes)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def links_chart(results, path, notes):
    """bench/links: left, equal links: Mbit/s against N per mode and flow count, with the
    sum of the links; right, unequal links: one bar per configuration and flow count."""
    pyplot = _pyplot()
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [3, 2]})
    equal = [r for r in results if r["links"] == "equal"]
    single = dict((r["streams"], r) for r in equal if r["tunnels"] == 1)
    for mode, color, marker in (("packet", "tab:blue", "o"), ("flow", "tab:red", "s"), ("mptcp", "tab:purple", "^")):
        for count in sorted({r["streams"] for r in equal}):
            rows = sorted([r for r in equal if r["mode"] == mode and r["streams"] == count] +
                          ([single[count]] if count in single else []), key=lambda r: r["tunnels"])
            if len(rows) < 2:
                continue
            xs = [r["tunnels"] for r in rows]
            left.errorbar(xs, [r["mbps"] for r in rows], yerr=[[r["mbps"] - r["min"] for r in rows],
                                                               [r["max"] - r["mbps"] for r in rows]],
                          color=color, marker=marker, linestyle="-" if count == 1 else "--", capsize=3,
                          label="%s, %d flow%s" % (mode, count, "" if count == 1 else "s"))
    tunnels = sorted({r["tunnels"] for r in equal})
    if equal:
        rate = equal[0]["rates"][0]
        left.plot(tunnels, [n * rate for n in tunnels], color="grey", linestyle=":", label="sum of links")
    left.set(title="equal links (%s Mbit/s each)" % ("%g" % equal[0]["rates"][0] if equal else "?"),
             xlabel="tunnels (N)", ylabel="Mbit/s (median, min-max)")
    left.set_xticks(tunnels)
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    unequal = [r for r in results if r["links"] == "unequal"]
    labels, values, colors = [], [], []
    for r in unequal:
        what = "%s N=%d%s" % (r["mode"], r["tunnels"], " weights" if r["weights"] else "")
        labels.append("%s\n%d flow%s" % (what, r["streams"], "" if r["streams"] == 1 else "s"))
        values.append(r["mbps"] / sum(r["rates"]))
        colors.append("tab:green" if r["weights"] else {"flow": "tab:red", "mptcp": "tab:purple"}.get(r["mode"], "tab:blue"))
    right.barh(range(len(values)), values, color=colors)
    right.set_yticks(range(len(values)))
    right.set_yticklabels(labels, fontsize=7)
    right.invert_yaxis()
    right.set_xlim(0, 1)
    right.set(title="unequal links 4:2:1:1 (fraction of their sum)", xlabel="Mbit/s / sum of links")
    right.grid(alpha=0.3, axis="x")
    figure.subplots_adjust(bottom=0.2, wspace=0.45, left=0.06, right=0.98)
    _notes(figure, notes)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
