use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn notice(event: Event, provider: &str, until: &str) -> Notice {
    Notice {
        event,
        provider: provider.into(),
        until: at(until),
        summary: format!("{provider} {event:?}"),
        body: String::new(),
    }
}

#[test]
fn once_per_event_and_provider_per_period() {
    let mut sent = Sent::default();
    let now = at("2026-11-21T19:00:00Z");
    let first = vec![
        notice(Event::Switch, "zai", "2026-11-21T21:00:00Z"),
        notice(Event::Switch, "zai", "2026-11-21T21:00:00Z"),
        notice(Event::Red, "zai", "2026-11-21T21:00:00Z"),
        notice(Event::Switch, "kimi", "2026-11-21T21:00:00Z"),
    ];
    assert_eq!(
        sent.admit(first, now).len(),
        3,
        "the repeat in one pass is dropped"
    );
    let again = vec![notice(Event::Switch, "zai", "2026-11-21T23:00:00Z")];
    assert_eq!(
        sent.admit(again.clone(), at("2026-11-21T20:59:00Z")),
        vec![]
    );
    // The period has ended: the same event is news again.
    assert_eq!(sent.admit(again.clone(), at("2026-11-21T21:00:00Z")), again);
    assert_eq!(sent.sent.len(), 1, "ended periods are forgotten");
}

#[test]
fn minutes_round_up() {
    assert_eq!(minutes(240.0), "4 min");
    assert_eq!(minutes(241.0), "5 min");
    assert_eq!(minutes(30.0), "30s");
}
