//! Criterion benchmarks of the Merkle core: appending leaves through the
//! compact range (what the sequencer does per entry) and assembling proofs.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sigstead_merkle::{consistency_proof_shape, inclusion_proof_shape, leaf_hash, CompactRange, Hash, NodeId};
use std::collections::HashMap;
use std::hint::black_box;

fn build(n: u64) -> (CompactRange, HashMap<NodeId, Hash>) {
    let mut cr = CompactRange::new();
    let mut nodes = HashMap::new();
    for i in 0..n {
        cr.append(leaf_hash(&i.to_be_bytes()), |id, h| {
            nodes.insert(id, h);
        });
    }
    (cr, nodes)
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("compact_range");
    g.throughput(Throughput::Elements(1024));
    let (base, _) = build(1_000_003);
    g.bench_function("append_1024_leaves_to_1M_tree", |b| {
        b.iter_batched(
            || base.clone(),
            |mut cr| {
                for i in 0..1024u64 {
                    cr.append(leaf_hash(&i.to_le_bytes()), |id, h| {
                        black_box((id, h));
                    });
                }
                black_box(cr.root())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let size = 200_003u64;
    let (_, nodes) = build(size);
    let mut g = c.benchmark_group("proofs");
    g.bench_function("inclusion_shape_and_assemble_200k", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            let shape = inclusion_proof_shape(i, size).unwrap();
            black_box(shape.assemble_from(&nodes).unwrap())
        })
    });
    g.bench_function("consistency_shape_and_assemble_200k", |b| {
        let mut m = 1u64;
        b.iter(|| {
            m = (m + 7919) % size + 1;
            let shape = consistency_proof_shape(m, size).unwrap();
            black_box(shape.assemble_from(&nodes).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, append, proofs);
criterion_main!(benches);
