//! The durable-write floor: the least a program can do to replace `N` files durably, as a
//! switching pass must — per file, write a temp file, fsync it, rename it over the file, fsync
//! the directory. `benches/run.sh` builds it with plain `rustc -O` and times it beside the passes
//! that make the same number of writes, so a pass reads as "floor + our own cost".
//!
//!     floor DIR N [BYTES]    # N durable replacements of files of BYTES bytes (default 200) in DIR

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let n: usize = args[2].parse().expect("N");
    let bytes: usize = args.get(3).map_or(200, |b| b.parse().expect("BYTES"));
    let content = vec![b'x'; bytes];
    for i in 0..n {
        let target = dir.join(format!("f{i}.json"));
        let temp = dir.join(format!(".f{i}.json.tmp"));
        let mut file = File::create(&temp).expect("create");
        file.write_all(&content).expect("write");
        file.sync_all().expect("fsync");
        drop(file);
        fs::rename(&temp, &target).expect("rename");
        File::open(dir)
            .and_then(|d| d.sync_all())
            .expect("dir fsync");
    }
}
