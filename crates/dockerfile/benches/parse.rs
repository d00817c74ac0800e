//! Parse time of a 10,000-line Dockerfile mixing every instruction, continuations, comments and
//! heredocs (the target is well under 100 ms; BuildKit's parser is the yardstick).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A Dockerfile of about `lines` lines.
fn big_dockerfile(lines: usize) -> String {
    let mut s = String::from("# syntax=docker/dockerfile:1\nARG BASE=busybox\n");
    let mut i = 0;
    while s.lines().count() < lines {
        s.push_str(&format!(
            "FROM ${{BASE}}:{i} AS stage{i}\n\
             # build step {i}\n\
             ENV A{i}=\"value {i}\" B{i}=${{A{i}:-x}}\n\
             RUN --mount=type=cache,target=/c{i} set -e; \\\n    echo {i} \\\n    && true\n\
             COPY --from=stage0 --chown=1:1 a{i} b{i} /dst/\n\
             RUN <<EOF\necho heredoc {i}\nEOF\n\
             LABEL org.example.n{i}=\"{i}\" other=x\n\
             EXPOSE 80/tcp 443\n\
             HEALTHCHECK --interval=5s CMD [\"true\"]\n\
             CMD [\"sh\", \"-c\", \"echo {i}\"]\n"
        ));
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let src = big_dockerfile(10_000);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.bench_function("10k_lines", |b| b.iter(|| dockerfile::parse(&src).unwrap()));
    g.bench_function("10k_lines_syntax_only", |b| {
        b.iter(|| dockerfile::syntax::parse(&src).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
