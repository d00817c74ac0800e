use super::*;

fn mount(j: serde_json::Value) -> Result<MountSpec> {
    parse_mount(&serde_json::from_value(j).unwrap())
}

#[test]
fn binds_like_dockerd() {
    let m = parse_bind("/srv/data:/data:ro,z", "").unwrap().record;
    assert_eq!((m.kind, m.destination.as_str()), (MountKind::Bind, "/data"));
    assert!(!m.rw && m.create_source);
    assert_eq!(
        (m.mode.as_str(), m.propagation.as_str()),
        ("ro,z", "rprivate")
    );
    assert!(parse_bind("/a:/b", "").unwrap().record.rw);
    assert_eq!(
        parse_bind("/a:/b:rshared", "").unwrap().record.propagation,
        "rshared"
    );
    let err = |s: &str| parse_bind(s, "").unwrap_err().to_string();
    assert!(
        err("/a:rel").contains("mount path must be absolute"),
        "{}",
        err("/a:rel")
    );
    assert!(err("/a:/").contains("destination can't be '/'"));
    assert_eq!(err("/a:/b:bogus"), "invalid mode: bogus");
    assert_eq!(err("/a:/b:ro,rw"), "invalid mode: ro,rw");
    assert_eq!(err("/foo:rw"), "invalid volume specification: '/foo:rw'");
    assert_eq!(err(":/x"), "invalid volume specification: ':/x'");
    assert_eq!(err("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
}

#[test]
fn named_and_anonymous_volumes_from_binds() {
    let v = parse_bind("data:/data", "").unwrap().record;
    assert_eq!(v.kind, MountKind::Volume);
    assert_eq!((v.name.as_str(), v.mode.as_str()), ("data", "z"));
    assert!(v.named && v.copy_data && v.rw);
    let v = parse_bind("data:/data:ro,nocopy", "").unwrap().record;
    assert!(!v.rw && !v.copy_data);
    assert_eq!(v.mode, "ro,nocopy");
    let a = parse_bind("/data", "").unwrap().record;
    assert_eq!(a.kind, MountKind::Volume);
    assert!(!a.named && a.name.is_empty());
    assert!(parse_bind("data:/data:shared", "")
        .unwrap_err()
        .to_string()
        .contains("field BindOptions must not be specified"));
}

#[test]
fn mounts_like_dockerd() {
    let b = mount(
        serde_json::json!({"Type":"bind","Source":"/tmp","Target":"/m","ReadOnly":true,
        "BindOptions":{"Propagation":"rslave","NonRecursive":true}}),
    )
    .unwrap()
    .record;
    assert!(!b.rw && b.non_recursive && !b.create_source);
    assert_eq!(b.propagation, "rslave");
    let err = |j| mount(j).unwrap_err().to_string();
    assert_eq!(
        err(serde_json::json!({"Type":"bind","Source":"/nonexistent-berth","Target":"/m"})),
        "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth"
    );
    assert!(err(
        serde_json::json!({"Type":"bind","Source":"/tmp","Target":"/m",
        "BindOptions":{"Propagation":"sideways"}})
    )
    .contains("invalid propagation mode: sideways"));
    assert!(
        err(serde_json::json!({"Type":"volume","Target":"/m","BindOptions":{}}))
            .contains("field BindOptions must not be specified")
    );
    assert!(err(serde_json::json!({"Type":"nope","Target":"/m"})).contains("mount type unknown"));
    assert!(err(
        serde_json::json!({"Type":"volume","Target":"/m","VolumeOptions":{"Subpath":"x"}})
    )
    .contains("anonymous volumes"));
    assert!(err(serde_json::json!({"Type":"volume","Source":"v","Target":"/m","VolumeOptions":{"Subpath":"../x"}}))
        .contains("subpath must be a relative path"));
    assert!(
        err(serde_json::json!({"Type":"tmpfs","Source":"x","Target":"/m"}))
            .contains("field Source must not be specified")
    );
    let v = mount(serde_json::json!({"Type":"volume","Source":"v","Target":"/m",
        "VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}}}}))
    .unwrap();
    assert!(!v.record.copy_data && v.record.named);
    assert_eq!(v.record.mode, "z");
    assert_eq!(v.driver, "local");
    assert_eq!(v.volume_labels.unwrap()["a"], "b");
    let t = mount(
        serde_json::json!({"Type":"tmpfs","Target":"/t","ReadOnly":true,
        "TmpfsOptions":{"SizeBytes":3145728,"Mode":1023,"Options":[["exec"]]}}),
    )
    .unwrap()
    .record;
    assert_eq!(t.tmpfs_options, "ro,mode=1777,size=3m,exec");
    assert!(err(
        serde_json::json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Options":[["suid"]]}})
    )
    .contains("invalid option: suid"));
}

#[test]
fn volumes_from_specs() {
    assert_eq!(parse_volumes_from("c1").unwrap(), ("c1".into(), true));
    assert_eq!(parse_volumes_from("c1:ro").unwrap(), ("c1".into(), false));
    assert!(parse_volumes_from("c1:shared").is_err());
    assert!(parse_volumes_from("c1:nocopy").is_err());
    assert!(parse_volumes_from("").is_err());
}

#[test]
fn host_config_checks() {
    let mut hc = HostConfig {
        binds: Some(vec!["/tmp:/x".into(), "/var:/x/".into()]),
        ..Default::default()
    };
    assert!(from_host_config(&hc)
        .unwrap_err()
        .to_string()
        .contains("Duplicate mount point: /x"));
    hc.binds = Some(vec!["v:/t".into()]);
    hc.tmpfs = Some([("/t".to_string(), String::new())].into());
    assert!(from_host_config(&hc).is_err());
    hc.tmpfs = None;
    hc.mounts = Some(vec![
        serde_json::json!({"Type":"bind","Source":"/tmp","Target":"/m","ReadOnly":true}),
    ]);
    let m = from_host_config(&hc).unwrap();
    assert_eq!(m.len(), 2);
}
