//! Many containers at once: 20 `run` commands started in parallel all succeed.

use std::process::Stdio;

use berth_tests::Daemon;

#[test]
fn twenty_containers_in_parallel() {
    let mut d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let children: Vec<_> = (0..20)
        .map(|i| {
            d.docker_cmd(&["run", "--rm", "busybox", "sh", "-c", &format!("echo n{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("n{i}\n"));
    }
    assert!(d.container_ids().is_empty());
    // Removed containers are unmounted by background cleanups, which finish before the
    // daemon exits.
    d.stop().unwrap();
    assert!(d.leftover_mounts().is_empty(), "{:?}", d.leftover_mounts());
}
