//! `event types|actions|list|show|create|enable|disable|delete` against the simulator's Event
//! Service (`/xapi/events/...`).

use serde_json::Value;

use crate::support::{command, report, stderr_of, TestEnv};

const LOGGING: &str = "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction";
const SESSION: &str = "org.nrg.xnat.eventservice.events.SessionEvent";

/// A subscription definition written to `name` in the test's working directory.
fn definition(env: &TestEnv, name: &str, text: &str) {
    std::fs::write(env.home.path().join(name), text).unwrap();
}

fn logging_on_sessions(name: &str) -> String {
    serde_json::json!({
        "name": name, "active": true, "action-key": LOGGING,
        "event-filter": {"event-type": SESSION, "project-ids": ["DEMO_MR"], "status": "CREATED"},
        "act-as-event-user": false, "attributes": {}
    })
    .to_string()
}

/// `(id, name, active)` of every stored subscription.
fn stored(env: &TestEnv) -> Vec<(u64, String, bool)> {
    env.sim.with_state(|st| {
        st.event_subscriptions
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    s["name"].as_str().unwrap_or_default().to_string(),
                    s["active"].as_bool().unwrap_or_default(),
                )
            })
            .collect()
    })
}

#[test]
fn catalogs_list_types_and_actions() {
    let env = TestEnv::empty();
    let r = report(&env, command(&env, &["event", "types", "-o", "tsv"]));
    insta::assert_snapshot!(r, @r#"
    exit 0
    --- stdout
    type	display-name	statuses	event-scope
    org.nrg.xnat.eventservice.events.ProjectEvent	Project	["CREATED","DELETED"]	["SITE"]
    org.nrg.xnat.eventservice.events.ScanEvent	Scan	["CREATED"]	["PROJECT","SITE"]
    org.nrg.xnat.eventservice.events.SessionEvent	Session	["CREATED","DELETED"]	["PROJECT","SITE"]
    --- stderr
    --- writes
    "#);
    let r = report(&env, command(&env, &["event", "actions", "-q"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction
    org.nrg.xnat.eventservice.actions.EventServiceEmailAction:org.nrg.xnat.eventservice.actions.EventServiceEmailAction
    --- stderr
    --- writes
    ");
    let r = report(
        &env,
        command(
            &env,
            &["event", "types", "--filter", "display-name:S*", "-q"],
        ),
    );
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    org.nrg.xnat.eventservice.events.ScanEvent
    org.nrg.xnat.eventservice.events.SessionEvent
    --- stderr
    --- writes
    ");
}

#[test]
fn create_enable_disable_delete_a_subscription() {
    let env = TestEnv::demo();
    // A name with colons: the id is what follows the last colon of XNAT's `<name>:<id>` answer.
    definition(&env, "sub.json", &logging_on_sessions("on:new:sessions"));
    let r = report(
        &env,
        command(&env, &["event", "create", "sub.json", "--dry-run"]),
    );
    insta::assert_snapshot!(r, @r#"
    exit 0
    --- stdout
    --- sub.json (current)
    +++ sub.json (new)
    @@ -1 +1,14 @@
    -{}
    +{
    +  "act-as-event-user": false,
    +  "action-key": "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction",
    +  "active": true,
    +  "attributes": {},
    +  "event-filter": {
    +    "event-type": "org.nrg.xnat.eventservice.events.SessionEvent",
    +    "project-ids": [
    +      "DEMO_MR"
    +    ],
    +    "status": "CREATED"
    +  },
    +  "name": "on:new:sessions"
    +}
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] Would register a new event subscription from sub.json:
    --- writes
    "#);
    assert!(stored(&env).is_empty());
    let r = report(
        &env,
        command(&env, &["event", "create", "sub.json", "-y", "-o", "json"]),
    );
    insta::assert_snapshot!(r, @r#"
    exit 0
    --- stdout
    {
      "id": 1
    }
    --- stderr
    ✓ Registered event subscription 1 from sub.json
    --- writes
    POST /xapi/events/subscription
    "#);
    assert_eq!(stored(&env), vec![(1, "on:new:sessions".into(), true)]);

    let r = report(&env, command(&env, &["event", "list", "-o", "tsv"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    id	name	active	event_type	action-key
    1	on:new:sessions	true	org.nrg.xnat.eventservice.events.SessionEvent	org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction
    --- stderr
    --- writes
    ");

    let r = report(&env, command(&env, &["event", "disable", "1", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Disabled event subscription 1
    --- writes
    POST /xapi/events/subscription/1/deactivate
    ");
    assert_eq!(stored(&env), vec![(1, "on:new:sessions".into(), false)]);
    let r = report(&env, command(&env, &["event", "enable", "1", "--dry-run"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] Would enable event subscription 1
    --- writes
    ");
    assert!(!stored(&env)[0].2, "a dry run changes nothing");
    let r = report(&env, command(&env, &["event", "enable", "1", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Enabled event subscription 1
    --- writes
    POST /xapi/events/subscription/1/activate
    ");
    assert!(stored(&env)[0].2);

    let out = command(&env, &["event", "show", "1", "-o", "json"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["event-filter"]["event-type"], SESSION);
    assert_eq!(shown["subscription-owner"], "admin");
    assert!(shown.get("event_type").is_none(), "only listings add it");

    let r = report(&env, command(&env, &["event", "delete", "1", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Deleted event subscription 1
    --- writes
    DELETE /xapi/events/subscription/1
    ");
    assert!(stored(&env).is_empty());
    for args in [
        &["event", "show", "1"][..],
        &["event", "delete", "1", "-y"],
        &["event", "enable", "1", "-y"],
        &["event", "disable", "1", "--dry-run"],
    ] {
        let r = report(&env, command(&env, args));
        assert!(
            r.starts_with("exit 5\n") && r.contains("error: event subscription not found: 1\n"),
            "{args:?}: {r}"
        );
    }
}

#[test]
fn a_definition_that_is_not_a_json_object_fails_before_any_request() {
    let env = TestEnv::demo();
    definition(&env, "broken.json", "{\n  \"name\": \"x\",\n  oops\n}\n");
    definition(&env, "list.json", "[1, 2]");
    let r = report(
        &env,
        command(&env, &["event", "create", "broken.json", "-y"]),
    );
    insta::assert_snapshot!(r, @r"
    exit 1
    --- stdout
    --- stderr
    error: broken.json: invalid JSON at line 3 column 3: key must be a string
    --- writes
    ");
    let r = report(&env, command(&env, &["event", "create", "list.json", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 1
    --- stdout
    --- stderr
    error: list.json: the subscription must be a JSON object, got an array
    --- writes
    ");
    assert!(env.request_lines().is_empty());
    // stdin cannot feed both the definition and the prompt.
    let out = command(&env, &["event", "create", "-"])
        .write_stdin(logging_on_sessions("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("FILE - requires --yes or --dry-run"));
    let out = command(&env, &["event", "create", "-", "-y"])
        .write_stdin(logging_on_sessions("from stdin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stored(&env), vec![(1, "from stdin".into(), true)]);
}

#[test]
fn the_server_refuses_an_unknown_action_with_its_validation_message() {
    let env = TestEnv::demo();
    definition(
        &env,
        "sub.json",
        &logging_on_sessions("x").replace(LOGGING, "no.such:Action"),
    );
    let r = report(&env, command(&env, &["event", "create", "sub.json", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 1
    --- stdout
    --- stderr
    error: the server refused the subscription: Subscription format failed to validate. Could not find Action Provider for ActionKey: no.such:Action
    --- writes
    POST /xapi/events/subscription
    ");
    assert!(stored(&env).is_empty());
}

#[test]
fn a_non_admin_is_refused_with_exit_6_but_may_read_the_event_types() {
    let env = TestEnv::demo();
    definition(&env, "sub.json", &logging_on_sessions("x"));
    let as_user = |args: &[&str]| {
        env.bare_cmd()
            .args(args)
            .env("XNAT_URL", env.url())
            .env("XNAT_USER", "user")
            .env("XNAT_PASS", "user")
            .output()
            .unwrap()
    };
    for args in [
        &["event", "list"][..],
        &["event", "actions"],
        &["event", "create", "sub.json", "-y"],
    ] {
        let out = as_user(args);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr_of(&out));
    }
    assert!(stored(&env).is_empty());
    let out = as_user(&["event", "types", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}
