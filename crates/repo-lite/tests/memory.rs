//! Peak memory of adding a large file, measured in a child process (the
//! test binary run again for one test) so that other tests cannot add to it.

mod common;

use std::time::Duration;

use common::{in_child, run_in_child};

const SIZE: usize = 200 << 20;

/// The process's peak resident set so far, in bytes (VmHWM).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}

/// Bytes no compressor can shrink, so that nothing in memory is small.
fn incompressible(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(size);
    out
}

#[cfg(target_os = "linux")]
#[test]
fn adding_a_200_mib_file_peaks_at_most_twice_its_size() {
    if in_child() {
        let (_dir, project) = common::new_project();
        project
            .add_file("small.txt", "warm up\n", "Warm up")
            .unwrap();
        let baseline = peak_rss();
        let contents = incompressible(SIZE);
        project
            .add_file("big.bin", &contents, "Add a big file")
            .unwrap();
        let peak = peak_rss() - baseline;
        println!("PEAK {peak}");
        common::assert_clean_and_sound(project.root());
        return;
    }
    let output = run_in_child(
        "adding_a_200_mib_file_peaks_at_most_twice_its_size",
        "",
        &[],
        Duration::from_secs(300),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak: usize = stdout
        .lines()
        .find_map(|line| line.split("PEAK ").nth(1))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the child prints its peak");
    let ratio = peak as f64 / SIZE as f64;
    println!("peak growth {} MiB = {ratio:.2}x the file", peak >> 20);
    assert!(ratio <= 2.1, "peak growth {ratio:.2}x the file's size");
}
