//! Plans a CSV file against no stored users and prints the counts and the
//! time of each stage: `cargo run --release -p domain --example plan_file
//! -- FILE`. For profiling the plan outside the browser.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: plan_file FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let options = domain::Options::default();
    let t = std::time::Instant::now();
    let parsed = match domain::plan::parse_file(&bytes, &options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let parse = t.elapsed();
    let t = std::time::Instant::now();
    let plan = domain::plan::plan_parsed(
        parsed,
        &domain::plan::NoUsers,
        &options,
        domain::Actor::Owner,
    );
    let planned = t.elapsed();
    println!(
        "{} rows: parse {parse:?}, plan {planned:?}, counts {:?}",
        plan.rows.len(),
        plan.counts
    );
}
