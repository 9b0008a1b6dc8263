//! The Rust peers' side of bench_native.py, in the protocol of every side:
//! for each kind of SPEC ("KIND:FIRST:END:REPS ..."), encode then count, one
//! then two threads, each thread going REPS times over documents
//! [FIRST, END) after a warm-up pass; one line
//! "KIND MODE THREADS CPU WALL TOKENS" per run (CPU: the whole process's).
//! usage: tokenomy-bench-peers PEER ENCODING CORPUS SPEC
//!   PEER: bpe-openai | tiktoken-rs (which has no count: it is the length of
//!   the ordinary encoding).
use std::time::Instant;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}
extern "C" {
    fn clock_gettime(clk: i32, tp: *mut Timespec) -> i32;
}
fn cpu_secs() -> f64 {
    let mut t = Timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { clock_gettime(2 /* CLOCK_PROCESS_CPUTIME_ID */, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn read_docs(path: &str) -> Vec<String> {
    let b = std::fs::read(path).expect("corpus");
    let mut out = Vec::new();
    let mut o = 0;
    while o < b.len() {
        let n = u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8(b[o + 4..o + 4 + n].to_vec()).expect("utf-8"));
        o += 4 + n;
    }
    out
}

type Run = Box<dyn Fn(&str) -> usize + Sync>;

fn peer(name: &str, enc: &str) -> (Run, Run) {
    match (name, enc) {
        ("bpe-openai", "cl100k_base") | ("bpe-openai", "o200k_base") => {
            let t: &'static bpe_openai::Tokenizer =
                if enc == "cl100k_base" { bpe_openai::cl100k_base() } else { bpe_openai::o200k_base() };
            (Box::new(move |s| t.encode(s).len()), Box::new(move |s| t.count(s)))
        }
        ("tiktoken-rs", _) => {
            let t = std::sync::Arc::new(
                if enc == "cl100k_base" { tiktoken_rs::cl100k_base() } else { tiktoken_rs::o200k_base() }
                    .expect("tiktoken-rs"),
            );
            let t2 = t.clone();
            (Box::new(move |s| t.encode_ordinary(s).len()), Box::new(move |s| t2.encode_ordinary(s).len()))
        }
        _ => {
            eprintln!("unknown peer or encoding: {name} {enc}");
            std::process::exit(2);
        }
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 5 {
        eprintln!("usage: {} PEER ENCODING CORPUS SPEC", a[0]);
        std::process::exit(2);
    }
    let (encode, count) = peer(&a[1], &a[2]);
    let all = read_docs(&a[3]);
    for item in a[4].split_whitespace() {
        let f: Vec<&str> = item.split(':').collect();
        let (first, end, reps): (usize, usize, usize) =
            (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
        let docs = &all[first..end];
        for d in docs {
            encode(d);
        }
        for (mode, run) in [("encode", &encode), ("count", &count)] {
            for threads in 1..=2 {
                let c0 = cpu_secs();
                let w0 = Instant::now();
                let tokens: usize = std::thread::scope(|sc| {
                    let hs: Vec<_> = (0..threads)
                        .map(|_| sc.spawn(|| (0..reps).map(|_| docs.iter().map(|d| run(d)).sum::<usize>()).sum::<usize>()))
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum()
                });
                let wall = w0.elapsed().as_secs_f64();
                println!("{} {} {} {:.6} {:.6} {}", f[0], mode, threads, cpu_secs() - c0, wall, tokens);
            }
        }
    }
}
