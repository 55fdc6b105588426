//! monotonic-deadline behaviour tests: rewritten code runs under CPython
//! with the fake clock of `bounded_retry` (separate wall and monotonic
//! clocks; the wall clock can be stepped or frozen).
//!
//! The seed's throttler, rewritten by every transform together (the loop
//! bounded by bounded-retry, its clock moved by monotonic-deadline), must
//! wait about its threshold however the wall clock moves, and end when both
//! clocks are frozen. A local deadline must neither give up early nor wait
//! on when the wall clock steps forward or back.

use crate::bounded_retry::{f, rewrite_in, scenario};

/// Two calls of the throttled function, with `step` run right after the
/// first; reports the monotonic time between the two calls.
fn throttled(step: &str) -> String {
    format!(
        r#"
calls = []
t = MOD.throttler(threshold=2)
g = t(lambda: calls.append(CLOCK.mono))
g()
{step}
value, error, message = outcome(g)
report(calls=len(calls), gap=(calls[1] - calls[0]) if len(calls) > 1 else None, error=error, message=message)
"#
    )
}

fn seed() -> tempfile::TempDir {
    rewrite_in("bounded-retry", None, "seed_throttler.py", &[])
}

#[test]
fn seed_throttle_waits_its_threshold() {
    let dir = seed();
    let new = scenario(dir.path(), "seed_throttler", &throttled("pass"));
    let old = scenario(dir.path(), "seed_throttler_orig", &throttled("pass"));
    assert_eq!(new["calls"], 2, "{new}");
    assert!((2.0..2.01).contains(&f(&new, "gap")), "{new}");
    assert_eq!(new["gap"], old["gap"], "the normal path changed");
}

#[test]
fn seed_throttle_ignores_a_wall_clock_stepped_back_an_hour() {
    let dir = seed();
    let step = "CLOCK.wall -= 3600";
    let old = scenario(dir.path(), "seed_throttler_orig", &throttled(step));
    assert!(old["gap"].is_null() || f(&old, "gap") > 3000.0, "the original waits the hour: {old}");
    let new = scenario(dir.path(), "seed_throttler", &throttled(step));
    assert_eq!(new["calls"], 2, "{new}");
    assert!((2.0..2.01).contains(&f(&new, "gap")), "still about the threshold: {new}");
}

#[test]
fn seed_throttle_ends_with_a_frozen_wall_clock() {
    let dir = seed();
    let new = scenario(dir.path(), "seed_throttler", &throttled("CLOCK.freeze_wall = True"));
    assert_eq!(new["calls"], 2, "{new}");
    assert!((2.0..2.01).contains(&f(&new, "gap")), "{new}");
}

#[test]
fn seed_throttle_ends_by_max_attempts_when_both_clocks_freeze() {
    let dir = seed();
    let new = scenario(dir.path(), "seed_throttler", &throttled("CLOCK.freeze()"));
    assert_eq!(new["error"], "TimeoutError", "{new}");
    assert!(new["message"].as_str().unwrap().contains("1000 attempts"), "{new}");
}

/// `wait_for_port` with a port that comes up after 30 s of monotonic time;
/// `step` moves the wall clock at the first check.
fn port_wait(step: &str) -> String {
    format!(
        r#"
class Port:
    checks = 0
    def is_up(self):
        Port.checks += 1
        if Port.checks == 1:
            {step}
        return CLOCK.mono - START >= 30
value, error, message = outcome(MOD.wait_for_port, Port(), 60)
report(value=value, error=error)
"#
    )
}

#[test]
fn local_deadline_survives_wall_clock_steps() {
    let dir = rewrite_in("monotonic-deadline", Some("monotonic-deadline"), "local_deadline.py", &[]);
    for step in ["CLOCK.wall += 3600", "CLOCK.wall -= 3600", "pass"] {
        let new = scenario(dir.path(), "local_deadline", &port_wait(step));
        assert_eq!(new["value"], true, "{step}: {new}");
        assert!((30.0..31.0).contains(&f(&new, "elapsed")), "{step}: {new}");
    }
    // The original gives up at once when the wall clock jumps forward.
    let old = scenario(dir.path(), "local_deadline_orig", &port_wait("CLOCK.wall += 3600"));
    assert_eq!(old["error"], "RuntimeError", "{old}");
    // And still times out on the monotonic clock when the port never comes up.
    let never = port_wait("pass").replace(">= 30", ">= 1e9");
    let new = scenario(dir.path(), "local_deadline", &never);
    assert_eq!(new["error"], "RuntimeError", "{new}");
    assert!((60.0..62.0).contains(&f(&new, "elapsed")), "{new}");
}
