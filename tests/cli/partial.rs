//! Partial parsing (only the top-level blocks that can hold a candidate)
//! must find exactly what a full parse finds: on every fixture in the repo
//! and on a generated corpus mixing candidates with look-alike noise.

use std::path::Path;

use crate::common::*;

fn findings(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["check", "--explain", "--format", "json", "--isolated"];
    args.extend_from_slice(extra);
    args.push(".");
    let (code, out, err) = run(dir, &args);
    assert!(code == 0 || code == 1, "{err}");
    out
}

fn assert_same(dir: &Path) {
    let partial = findings(dir, &[]);
    let full = findings(dir, &["--no-partial"]);
    assert_eq!(partial, full);
    let v: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert!(!v["skipped"].as_array().unwrap().is_empty() || !v["sites"].as_array().unwrap().is_empty());
}

#[test]
fn fixtures_find_the_same_with_partial_parsing() {
    let tmp = copy_to_temp(&repo().join("tests/fixtures"));
    assert_same(tmp.path());
}

/// Deterministic pseudo-random numbers (no dependency, stable across runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const BLOCKS: &[&str] = &[
    "def wait_ready(client):\n    while True:\n        if client.ready():\n            return\n        time.sleep(1)\n",
    "def heartbeat(agent):\n    while True:\n        agent.report()\n        eventlet.sleep(5)\n",
    "def bounded(client, tries=5):\n    n = 0\n    while True:\n        n += 1\n        if n > tries:\n            raise RuntimeError('no')\n        if client.ok():\n            break\n        time.sleep(2)\n",
    "class Poller(object):\n    \"\"\"Polls.\n\ndef not_a_function():\n    while True: pass\n    \"\"\"\n\n    def poll(self):\n        while 1:\n            if self.done():\n                break\n            time.sleep(0.5)\n",
    "def noise(x):\n    s = \"while True: time.sleep(1)\"\n    return s.upper()\n",
    "def helper(items):\n    total = 0\n    for i in items:\n        total += i\n    return total\n",
    "@decorator\ndef decorated():\n    # while True in a comment, and sleep\n    return [\n        1,\n    ]\n",
    "async def apoll(conn):\n    while True:\n        if await conn.ready():\n            return\n        await asyncio.sleep(1)\n",
    "def yielding():\n    while True:\n        time.sleep(0)\n",
    "def text():\n    return '''\n  while True:\n      time.sleep(1)\n'''\n",
    "CONSTANT = {\n    'a': 1,\n}\n",
    "while True:\n    if check():\n        break\n    time.sleep(3)\n",
    "def crlf_style(x):\r\n    while True:\r\n        if x():\r\n            break\r\n        time.sleep(1)\r\n",
    "def _local_sleep():\n    def sleep(t):\n        pass\n    while True:\n        if go():\n            break\n        sleep(1)\n",
    "def unicode_body():\n    msg = 'héllo wörld ✓'\n    return msg\n",
];

#[test]
fn generated_corpus_finds_the_same_with_partial_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(42);
    for f in 0..300 {
        let mut text = String::from("import asyncio\nimport time\n\nimport eventlet\n\n\n");
        for _ in 0..1 + rng.next(8) {
            text.push_str(BLOCKS[rng.next(BLOCKS.len())]);
            text.push_str("\n\n");
        }
        std::fs::write(tmp.path().join(format!("m{f:03}.py")), text).unwrap();
    }
    assert_same(tmp.path());
    // The fast path is really taken (not a silent fallback to full parses).
    let (_, _, err) = run(tmp.path(), &["check", "--isolated", "--verbose", "."]);
    // Most files are parsed partially; whole parses are for files where
    // nothing could be blanked or the scanner was unsure.
    let stats = err.lines().find(|l| l.contains("parsed partially")).unwrap();
    let n: Vec<usize> = stats.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).collect();
    assert_eq!(n[0] + n[1] + n[2], 300, "{stats}");
    assert!(n[1] > 100, "{stats}");
}
