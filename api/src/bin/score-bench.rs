//! Benchmark of the scoring engine against the numpy reference.
//!
//! ```text
//! cargo run --release -p pingjia-api --bin score-bench -- [--rows 1000000] [--agencies 200]
//!     [--runs 15] [--csv FILE] [--python PYTHON]
//! ```
//!
//! Generates ROWS respondents × 20 items across AGENCIES agencies (or reads FILE, e.g.
//! made by `reference/gen_dev.py`), then times: the per-agency computation on
//! data in memory (all outputs of `score_groups`), CSV bytes to result table, and the
//! whole command in a child process with its peak memory. In the same run it times
//! `reference_scores.py`'s `score()` on the same file (needs numpy, scipy and pandas
//! for PYTHON, default `python3`) and prints the ratios.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pingjia_scoring::sampling::SplitMix64;
use pingjia_scoring::{GroupOptions, score_groups};

struct Args {
    rows: usize,
    agencies: usize,
    runs: usize,
    csv: Option<PathBuf>,
    python: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        rows: 1_000_000,
        agencies: 200,
        runs: 15,
        csv: None,
        python: "python3".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--rows" => args.rows = value()?.parse()?,
            "--agencies" => args.agencies = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--csv" => args.csv = Some(value()?.into()),
            "--python" => args.python = value()?,
            "--child-e2e" => {
                child_end_to_end(Path::new(&value()?))?;
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

/// A standard normal deviate (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = ((rng.next_u64() >> 11) as f64) / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Writes data shaped like `gen_dev.py`'s: agency effect N(0, .4), respondent
/// N(0, .8), item noise N(0, .7) around 3.6, 1% blanks, log-normal weights.
fn generate(path: &Path, rows: usize, agencies: usize) -> anyhow::Result<()> {
    let mut rng = SplitMix64::new(20_261_124);
    let effects: Vec<f64> = (0..agencies).map(|_| 0.4 * normal(&mut rng)).collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(out, "agency,weight")?;
    for j in 1..=20 {
        write!(out, ",q{j}")?;
    }
    writeln!(out)?;
    for _ in 0..rows {
        let g = rng.below(agencies as u64) as usize;
        let latent = 0.8 * normal(&mut rng);
        let weight = (0.35 * normal(&mut rng)).exp();
        write!(out, "AG{g:03},{weight:.4}")?;
        for _ in 0..20 {
            let x = (3.6 + effects[g] + latent + 0.7 * normal(&mut rng))
                .round()
                .clamp(1.0, 5.0);
            if rng.below(100) == 0 {
                write!(out, ",")?;
            } else {
                write!(out, ",{}", x as u8)?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// What `pingjia score FILE` does, once, then prints seconds and peak memory.
fn child_end_to_end(path: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let bytes = std::fs::read(path)?;
    let scores = pingjia_api::score::score_csv(&bytes, &GroupOptions::default())
        .map_err(|e| anyhow::anyhow!("{} bad lines", e.len()))?;
    let table = pingjia_api::score::to_csv(&scores);
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        std::io::stdout(),
        "{secs} {} {}",
        peak_rss_mib().unwrap_or(f64::NAN),
        table.len()
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut out = std::io::stdout().lock();
    let path = match &args.csv {
        Some(p) => p.clone(),
        None => {
            let p = std::env::temp_dir()
                .join(format!("pingjia-bench-{}x{}.csv", args.rows, args.agencies));
            if !p.exists() {
                writeln!(
                    out,
                    "generating {} rows × 20 items, {} agencies → {}",
                    args.rows,
                    args.agencies,
                    p.display()
                )?;
                generate(&p, args.rows, args.agencies)?;
            }
            p
        }
    };
    let bytes = std::fs::read(&path)?;
    writeln!(
        out,
        "input: {} ({:.1} MB)",
        path.display(),
        bytes.len() as f64 / 1e6
    )?;

    let responses = pingjia_api::score::parse_csv(&bytes)
        .map_err(|e| anyhow::anyhow!("{} bad lines", e.len()))?;
    let options = GroupOptions::default();
    let mut compute = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        let scores = score_groups(&responses, &options)?;
        compute.push(t.elapsed().as_secs_f64());
        std::hint::black_box(scores);
    }
    let compute = median(compute);
    let single = GroupOptions {
        threads: 1,
        ..GroupOptions::default()
    };
    let mut compute_single = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        std::hint::black_box(score_groups(&responses, &single)?);
        compute_single.push(t.elapsed().as_secs_f64());
    }
    let compute_single = median(compute_single);
    drop(responses);

    let mut csv_to_result = Vec::new();
    for _ in 0..args.runs.clamp(1, 5) {
        let t = Instant::now();
        let scores = pingjia_api::score::score_csv(&bytes, &options)
            .map_err(|e| anyhow::anyhow!("{} bad lines", e.len()))?;
        let table = pingjia_api::score::to_csv(&scores);
        csv_to_result.push(t.elapsed().as_secs_f64());
        std::hint::black_box(table);
    }
    let csv_to_result = median(csv_to_result);
    drop(bytes);

    let me = std::env::current_exe()?;
    let child = Command::new(me).arg("--child-e2e").arg(&path).output()?;
    let child_out = String::from_utf8_lossy(&child.stdout);
    let mut fields = child_out.split_whitespace();
    let file_to_result: f64 = fields
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let peak: f64 = fields
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);

    writeln!(
        out,
        "rust  compute (score_groups, median of {}): {:.2} ms on all cores, {:.2} ms on one",
        args.runs,
        compute * 1e3,
        compute_single * 1e3
    )?;
    writeln!(
        out,
        "rust  CSV bytes → result table (median):     {:.1} ms",
        csv_to_result * 1e3
    )?;
    writeln!(
        out,
        "rust  file → result table, fresh process:    {:.1} ms, peak RSS {:.1} MiB",
        file_to_result * 1e3,
        peak
    )?;

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reference/reference_scores.py");
    let reference = Command::new(&args.python)
        .arg(&script)
        .arg(&path)
        .args(["--bench", "5"])
        .output();
    match reference {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text
                .lines()
                .find(|l| l.starts_with("load"))
                .unwrap_or_default();
            let grab = |key: &str| -> Option<f64> {
                let rest = line.split(key).nth(1)?;
                rest.trim().split('s').next()?.trim().parse().ok()
            };
            let (load, score) = (grab("load"), grab("score median"));
            writeln!(out, "numpy reference: {line}")?;
            if let Some(score) = score {
                writeln!(
                    out,
                    "ratio compute: numpy score() / rust = {:.1}×",
                    score / compute
                )?;
                if let Some(load) = load {
                    writeln!(
                        out,
                        "ratio CSV → result: numpy (read_csv + score) / rust = {:.1}×",
                        (load + score) / csv_to_result
                    )?;
                }
            }
        }
        Ok(o) => writeln!(
            out,
            "numpy reference failed ({}); set it up as in reference/README.md and pass --python",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )?,
        Err(e) => writeln!(out, "cannot run {}: {e}", args.python)?,
    }
    Ok(())
}
