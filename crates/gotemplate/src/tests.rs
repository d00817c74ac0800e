//! Template engine tests, many taken from the cases of docker's `templates_test.go` and Go's
//! `text/template` documentation.

use super::*;

fn run(src: &str, data: &Value) -> Result<String, TemplateError> {
    Template::docker(src)?.execute(data)
}

fn json(s: &str) -> Value {
    Value::from_json_slice(s.as_bytes()).unwrap()
}

#[test]
fn docker_templates_test_cases() {
    let ports = json(r#"{"Ports":"0.0.0.0:2->8/udp"}"#);
    assert_eq!(
        run("{{json .Ports}}", &ports).unwrap(),
        r#""0.0.0.0:2->8/udp""#
    );
    let s = Value::from("text:with:colon");
    assert_eq!(
        run(r#"{{join (split . ":") "/"}}"#, &s).unwrap(),
        "text/with/colon"
    );
    assert_eq!(
        run("this is a {{ . }}", &Value::from("string")).unwrap(),
        "this is a string"
    );
    let src = Value::from("tupx5xzf6hvsrhnruz5cr8gwp");
    assert_eq!(run("{{truncate . 5}}", &src).unwrap(), "tupx5");
    assert_eq!(
        run("{{truncate . 30}}", &src).unwrap(),
        "tupx5xzf6hvsrhnruz5cr8gwp"
    );
    assert_eq!(
        run("{{pad . 3 3}}", &src).unwrap(),
        "   tupx5xzf6hvsrhnruz5cr8gwp   "
    );
    assert_eq!(run("{{pad . 3 3}}", &Value::from("")).unwrap(), "");
    assert!(run("{{truncate . 5}}", &Value::Nil).is_err());
}

#[test]
fn header_functions_are_identity() {
    let t =
        Template::docker(r#"{{ upper .}}|{{ split . ","}}|{{ truncate . 2}}|{{json .}}"#).unwrap();
    let (out, err) = t.execute_partial(&Value::from("hello world"), &Funcs::docker_header());
    assert!(err.is_none());
    assert_eq!(out, "hello world|hello world|hello world|hello world");
}

#[test]
fn inspect_style_field_paths() {
    let c = json(
        r#"{"Id":"abc","State":{"Status":"exited","ExitCode":3,"Running":false},
            "Config":{"Labels":{"b":"2","a":"1"},"Env":["A=1","B=2"],"Cmd":["sh"]},
            "NetworkSettings":{"Networks":{"bridge":{"IPAddress":"10.0.0.2"}}}}"#,
    );
    assert_eq!(
        run("{{.State.Status}} {{.State.ExitCode}}", &c).unwrap(),
        "exited 3"
    );
    assert_eq!(run("{{.Id}}", &c).unwrap(), "abc");
    assert_eq!(
        run("{{json .Config.Labels}}", &c).unwrap(),
        r#"{"a":"1","b":"2"}"#
    );
    assert_eq!(
        run("{{json .Config}}", &c).unwrap(),
        r#"{"Labels":{"a":"1","b":"2"},"Env":["A=1","B=2"],"Cmd":["sh"]}"#
    );
    assert_eq!(
        run("{{range .Config.Env}}{{println .}}{{end}}", &c).unwrap(),
        "A=1\nB=2\n"
    );
    assert_eq!(run(r#"{{index .Config.Labels "a"}}"#, &c).unwrap(), "1");
    assert_eq!(
        run(
            r#"{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"#,
            &c
        )
        .unwrap(),
        "a=1;b=2;"
    );
    assert_eq!(
        run(
            "{{range $n, $c := .NetworkSettings.Networks}}{{$n}} {{$c.IPAddress}}{{end}}",
            &c
        )
        .unwrap(),
        "bridge 10.0.0.2"
    );
    assert_eq!(
        run(
            "{{if .State.Running}}up{{else if eq .State.ExitCode 3}}three{{else}}down{{end}}",
            &c
        )
        .unwrap(),
        "three"
    );
    assert_eq!(
        run("{{with .State}}{{.Status}}{{end}}", &c).unwrap(),
        "exited"
    );
    assert_eq!(
        run("{{lower .State.Status | upper}}", &c).unwrap(),
        "EXITED"
    );
    assert_eq!(
        run(r#"{{printf "%s:%d" .Id .State.ExitCode}}"#, &c).unwrap(),
        "abc:3"
    );
    assert_eq!(run("{{.Config.Labels}}", &c).unwrap(), "map[a:1 b:2]");
    assert_eq!(run("{{len .Config.Env}}", &c).unwrap(), "2");
    assert_eq!(run(r#"{{join .Config.Env ","}}"#, &c).unwrap(), "A=1,B=2");
}

#[test]
fn variables_trim_markers_and_comments() {
    let d = json(r#"{"A":"x","L":[1,2,3,4]}"#);
    assert_eq!(
        run("{{$a := .A}}{{$a}}{{$a = \"y\"}}{{$a}}", &d).unwrap(),
        "xy"
    );
    assert_eq!(run("a  {{- .A -}}  b{{/* gone */}}", &d).unwrap(), "axb");
    assert_eq!(
        run(
            "{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}",
            &d
        )
        .unwrap(),
        "13"
    );
    assert_eq!(
        run(
            "{{range .Nope}}x{{else}}empty{{end}}",
            &json(r#"{"Nope":[]}"#)
        )
        .unwrap(),
        "empty"
    );
    assert_eq!(
        run("{{range $i, $e := .L}}{{$i}}{{end}}{{$.A}}", &d).unwrap(),
        "0123x"
    );
    assert_eq!(
        run("{{and .A 0}} {{or 0 .A}} {{not .A}}", &d).unwrap(),
        "0 x false"
    );
}

#[test]
fn errors_read_like_go() {
    let d = json(r#"{"A":{"B":1}}"#);
    assert_eq!(
        Template::docker("{{.Nope}}")
            .unwrap()
            .strict()
            .execute(&d)
            .unwrap_err()
            .to_string(),
        "template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
    );
    assert_eq!(
        run("{{nil}}", &d).unwrap_err().to_string(),
        "template: :1:2: executing \"\" at <nil>: nil is not a command"
    );
    assert_eq!(
        run("{{InvalidFunction}}", &d).unwrap_err().to_string(),
        "template: :1: function \"InvalidFunction\" not defined"
    );
    assert_eq!(
        run("x\n {{index .A.B 1}}", &d).unwrap_err().to_string(),
        "template: :2:3: executing \"\" at <index .A.B 1>: error calling index: can't index item of type int"
    );
    assert_eq!(
        run("{{.A.B.C}}", &d).unwrap_err().to_string(),
        "template: :1:4: executing \"\" at <.A.B.C>: can't evaluate field C in type int"
    );
    assert!(run("{{\"x\" 1}}", &d)
        .unwrap_err()
        .to_string()
        .contains("can't give argument to non-function"));
}

#[test]
fn missing_map_keys_print_no_value() {
    let d = json(r#"{"Labels":{"a":"1"}}"#);
    assert_eq!(run("{{.Labels.zz}}", &d).unwrap(), "<no value>");
    assert!(Template::docker("{{.Labels.zz}}")
        .unwrap()
        .strict()
        .execute(&d)
        .is_err());
}

/// The docker CLI's default `version` template runs unchanged.
#[test]
fn docker_version_template() {
    let tmpl = concat!(
        "{{with .Client -}}\nClient:{{if ne .Platform nil}}{{if ne .Platform.Name \"\"}} {{.Platform.Name}}{{end}}{{end}}\n",
        " Version:\t{{.Version}}\n",
        " API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}\n",
        "{{- end}}\n\n{{- if ne .Server nil}}{{with .Server}}\n\nServer:{{if ne .Platform.Name \"\"}} {{.Platform.Name}}{{end}}\n",
        " {{- range $component := .Components}}\n {{$component.Name}}:\n",
        "  {{- if eq $component.Name \"Engine\" }}\n  Version:\t{{.Version}}\n",
        "  API version:\t{{index .Details \"ApiVersion\"}} (minimum version {{index .Details \"MinAPIVersion\"}})\n",
        "  {{- else }}\n  Version:\t{{$component.Version}}\n  {{- end}}\n {{- end}}\n {{- end}}{{- end}}"
    );
    let data = json(
        r#"{"Client":{"Platform":null,"Version":"0.1.0","APIVersion":"1.47","DefaultAPIVersion":"1.47"},
            "Server":{"Platform":{"Name":"berth"},"Components":[
              {"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.47","MinAPIVersion":"1.24"}},
              {"Name":"berth-shim","Version":"0.1.0","Details":{}}]}}"#,
    );
    let out = run(tmpl, &data).unwrap();
    assert_eq!(
        out,
        "Client:\n Version:\t0.1.0\n API version:\t1.47\n\nServer: berth\n Engine:\n  Version:\t0.1.0\n  API version:\t1.47 (minimum version 1.24)\n berth-shim:\n  Version:\t0.1.0"
    );
}
