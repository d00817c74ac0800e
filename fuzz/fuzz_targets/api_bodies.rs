//! The Engine API's JSON bodies as a client sends them: `POST /containers/create`,
//! `POST /containers/{id}/exec` and `POST /containers/{id}/update`. Parsing and every check
//! the engine runs before it touches the image or a container must never panic, and a body
//! that passes the checks must survive a round trip through its own JSON (inspect shows what
//! was stored).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<api_types::ContainerCreateRequest>(data) {
        if engine::container::checks::check_create_request(&req).is_ok() {
            let again: api_types::ContainerCreateRequest =
                serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
            assert_eq!(again.host_config, req.host_config);
            let merged = engine::container::config::merge(req.config, &Default::default());
            let _ = engine::container::config::command_line(&merged);
        }
    }
    if let Ok(cfg) = serde_json::from_slice::<api_types::ExecConfig>(data) {
        let _ = engine::container::exec::check_exec_config(&cfg);
    }
    if let Ok(u) = serde_json::from_slice::<api_types::UpdateConfig>(data) {
        if engine::container::update::check_update(&u).is_ok() {
            let again: api_types::UpdateConfig =
                serde_json::from_value(serde_json::to_value(&u).unwrap()).unwrap();
            assert_eq!(again, u);
        }
    }
});
