//! Results do not depend on the number of worker threads: chunks are merged in a fixed
//! order, so 1, 2 or 3 workers give bit-identical estimates.

use pingjia_scoring::sampling::SplitMix64;
use pingjia_scoring::{GroupOptions, Responses, score_groups};

#[test]
fn estimates_are_bit_identical_for_any_thread_count() {
    let mut rng = SplitMix64::new(7);
    let mut responses = Responses::with_capacity(6, 300_000).expect("six items");
    for _ in 0..300_000 {
        let group = format!("AG{}", rng.below(40));
        let weight = 0.5 + rng.below(1000) as f64 / 400.0;
        let answers: Vec<Option<u8>> = (0..6)
            .map(|_| match rng.below(60) {
                0 => None,
                v => Some(1 + (v % 5) as u8),
            })
            .collect();
        responses.push(&group, weight, &answers).expect("valid row");
    }
    let run = |threads: usize| {
        let options = GroupOptions {
            threads,
            ..GroupOptions::default()
        };
        score_groups(&responses, &options).expect("scores")
    };
    let one = run(1);
    assert_eq!(one.len(), 40);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}
