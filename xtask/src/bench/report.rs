//! The benchmark's report: both registries side by side, the ratio, and the target.

use super::measure::Figures;

struct Row {
    label: &'static str,
    quay: f64,
    peer: f64,
    /// Higher is better for quay.
    higher_better: bool,
    /// The target ratio quay/peer (or, for `absolute`, the bound on quay's figure).
    target: f64,
    absolute: bool,
}

fn rows(q: &Figures, d: &Figures) -> Vec<Row> {
    let rel = |label, quay, peer, higher_better, target| Row {
        label,
        quay,
        peer,
        higher_better,
        target,
        absolute: false,
    };
    vec![
        rel(
            "monolithic push 256 MiB (GB/s)",
            q.mono_push_gbps,
            d.mono_push_gbps,
            true,
            2.5,
        ),
        rel(
            "chunked push 256 MiB / 16 MiB (GB/s)",
            q.chunked_push_gbps,
            d.chunked_push_gbps,
            true,
            3.0,
        ),
        rel("pull 512 MiB (GB/s)", q.pull_gbps, d.pull_gbps, true, 1.1),
        rel(
            "pull server CPU (s/GB)",
            q.pull_cpu_s_per_gb,
            d.pull_cpu_s_per_gb,
            false,
            0.5,
        ),
        rel(
            "pull time to first byte (ms)",
            q.pull_ttfb_ms,
            d.pull_ttfb_ms,
            false,
            0.5,
        ),
        rel(
            "manifest GET, 16 conns (req/s)",
            q.get_rps_16,
            d.get_rps_16,
            true,
            3.0,
        ),
        rel(
            "manifest GET, 64 conns (req/s)",
            q.get_rps_64,
            d.get_rps_64,
            true,
            3.0,
        ),
        rel(
            "manifest PUT p50 (ms)",
            q.put_p50_ms,
            d.put_p50_ms,
            false,
            1.0,
        ),
        rel(
            "manifest PUT p90 (ms, no target)",
            q.put_p90_ms,
            d.put_p90_ms,
            false,
            f64::NAN,
        ),
        Row {
            label: "peak RSS, 1 GiB push + 16 pulls (MiB)",
            quay: q.rss_phase_mib,
            peer: d.rss_phase_mib,
            higher_better: false,
            target: 64.0,
            absolute: true,
        },
        rel(
            "1 GiB push beside 16 pulls (s, no target)",
            q.rss_phase_push_s,
            d.rss_phase_push_s,
            false,
            f64::NAN,
        ),
        rel(
            "peak RSS, whole run (MiB, no target)",
            q.rss_run_mib,
            d.rss_run_mib,
            false,
            f64::NAN,
        ),
    ]
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "n/a".into()
    }
}

fn verdict(row: &Row) -> (String, String) {
    if !row.quay.is_finite() || (!row.absolute && !row.peer.is_finite()) {
        return ("n/a".into(), "n/a".into());
    }
    if row.absolute {
        let ok = row.quay <= row.target;
        return (
            "—".into(),
            format!(
                "≤ {} MiB: {}",
                row.target,
                if ok { "met" } else { "MISSED" }
            ),
        );
    }
    let ratio = row.quay / row.peer;
    if row.target.is_nan() {
        return (format!("{ratio:.2}×"), "—".into());
    }
    let ok = if row.higher_better {
        ratio >= row.target
    } else {
        ratio <= row.target
    };
    let want = if row.higher_better { "≥" } else { "≤" };
    (
        format!("{ratio:.2}×"),
        format!(
            "{want} {}×: {}",
            row.target,
            if ok { "met" } else { "MISSED" }
        ),
    )
}

/// The Markdown report.
pub fn render(quay: &Figures, peer: &Figures, notes: &[String]) -> String {
    let mut out = String::from("# cargo xtask bench\n\n");
    out.push_str("| figure | quay | distribution | quay / distribution | target |\n");
    out.push_str("|---|---:|---:|---:|---|\n");
    for row in rows(quay, peer) {
        let (ratio, target) = verdict(&row);
        out.push_str(&format!(
            "| {} | {} | {} | {ratio} | {target} |\n",
            row.label,
            num(row.quay),
            num(row.peer)
        ));
    }
    out.push_str(&format!(
        "\nManifest GET non-2xx answers: quay {}, distribution {}.\n\n",
        quay.get_errors, peer.get_errors
    ));
    out.push_str(&format!(
        "- quay auth: {}\n- distribution auth: {}\n",
        quay.auth, peer.auth
    ));
    for note in notes {
        out.push_str(&format!("- {note}\n"));
    }
    out
}
