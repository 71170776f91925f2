//! `plan` on generated files of 10k and 100k rows (half of them existing
//! users), next to a bare `csv` ByteRecord loop over the same bytes.
//! Run: `cargo bench -p domain --bench plan`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use domain::plan::{ExistingUsers, parse_file, plan, plan_parsed};
use domain::{Options, UsersByKey};
use std::hint::black_box;

fn file(rows: usize) -> Vec<u8> {
    let mut s = String::from(
        "email,first_name,last_name,display_name,phone,mobile,employee_number,title,department,organization\n",
    );
    for i in 0..rows {
        s.push_str(&format!(
            "user{i}@example.com,First{i},Last{i},,+41 44 {i:06},,E{i},Engineer,Dept {},Example Ltd\n",
            i % 50
        ));
    }
    s.into_bytes()
}

/// Half of the file's users, as stored (every other one; a tenth of those
/// with a changed title so the plan has updates as well as unchanged rows).
fn existing(bytes: &[u8]) -> UsersByKey {
    let options = Options::default();
    let p = plan(
        bytes,
        &domain::plan::NoUsers,
        &options,
        domain::Actor::Owner,
    )
    .expect("generated file plans");
    p.creates()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, (_, u))| {
            let mut u = u.clone();
            if i % 20 == 0 {
                u.profile.set(domain::Field::Title, "Manager").unwrap();
            }
            (u.key().clone(), u)
        })
        .collect()
}

fn bare_loop(bytes: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut fields = 0;
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        fields += record.len();
    }
    fields
}

/// What no plan can avoid on top of reading the records: finding each
/// row's key among the stored users (`lookup`), and in addition hashing the
/// bytes that would be written (`lookup + sha256`, the fingerprint's floor).
fn floor_loop(bytes: &[u8], store: &UsersByKey, hash: bool) -> usize {
    use sha2::{Digest, Sha256};
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut key = String::new();
    let mut found = 0;
    let mut sha = Sha256::new();
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        key.clear();
        key.extend(
            record
                .get(0)
                .unwrap_or_default()
                .iter()
                .map(|b| b.to_ascii_lowercase() as char),
        );
        found += usize::from(store.contains_key(key.as_str()));
        if hash {
            sha.update(record.as_slice());
        }
    }
    found + sha.finalize()[0] as usize
}

fn bench(c: &mut Criterion) {
    let options = Options::default();
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    for rows in [10_000usize, 100_000] {
        let bytes = file(rows);
        let store = existing(&bytes);
        let store_ref: &dyn ExistingUsers = &store;
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("csv_bytes_loop", rows),
            &bytes,
            |b, bytes| b.iter(|| black_box(bare_loop(bytes))),
        );
        group.bench_with_input(
            BenchmarkId::new("floor_lookup", rows),
            &bytes,
            |b, bytes| b.iter(|| black_box(floor_loop(bytes, &store, false))),
        );
        group.bench_with_input(
            BenchmarkId::new("floor_lookup_sha256", rows),
            &bytes,
            |b, bytes| b.iter(|| black_box(floor_loop(bytes, &store, true))),
        );
        group.bench_with_input(BenchmarkId::new("parse_file", rows), &bytes, |b, bytes| {
            b.iter(|| black_box(parse_file(bytes, &options).map(|p| p.rows.len())))
        });
        group.bench_with_input(BenchmarkId::new("plan", rows), &bytes, |b, bytes| {
            b.iter(|| {
                let parsed = parse_file(bytes, &options).expect("plans");
                black_box(plan_parsed(parsed, store_ref, &options, domain::Actor::Owner).counts)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
