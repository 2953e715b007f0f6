//! The caseworker console in process: its router driven request by request over the demo
//! city (`tests/console_support`): sign-in by password and by API key, sessions and CSRF,
//! the roles (an auditor reads only, an organisation sees only its own lettings), and the
//! acts (an approval shrinks the queue and the report counts it; a rejection shows the
//! replacement obligation and the offer goes to a vacancy outside the exposed areas).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod console_support;

use axum::http::StatusCode;
use console_support::{Fixture, PASSWORD, figure, form, queue_count, queue_lettings};

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_sessions_and_language() {
    let fx = Fixture::new().await;
    let mut c = fx.client();

    // Not signed in: every page leads to the sign-in page.
    let page = c.get("/queue").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/signin"));

    let page = c.get("/signin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"da\""));
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("letting_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Max-Age="));
    assert!(!cookie.contains("Secure"), "plain HTTP here");
    let csrf = page.csrf();

    // Without the form's token: refused before the password is looked at.
    let refused = c
        .post(
            "/signin",
            form(&[("username", "kirsten"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let wrong = c
        .post(
            "/signin",
            form(&[
                ("csrf", &csrf),
                ("username", "kirsten"),
                ("password", "not it at all"),
            ]),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Ukendt bruger"));

    let before: Vec<String> = c_cookie(&refused.set_cookies);
    assert!(before.is_empty(), "a refused sign-in sets no cookie");
    let ok = c
        .post(
            "/signin",
            form(&[
                ("csrf", &csrf),
                ("username", "kirsten"),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let new_cookie = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("letting_session="))
        .expect("a new session on sign-in");
    assert_ne!(
        new_cookie.split(';').next(),
        cookie.split(';').next(),
        "signing in starts a new session id"
    );

    let queue = c.get("/queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("kirsten, Kommune 0101"));
    assert!(queue.body.contains("class=\"skipnav\""));

    // English by the switch, remembered.
    let en = c.get("/queue?lang=en").await;
    assert!(en.body.contains("<html lang=\"en\""));
    assert!(en.body.contains("Lettings awaiting approval"));
    let filtered = c.get("/queue?area=tingbjerg&lang=en").await;
    assert!(
        filtered
            .body
            .contains("href=\"/queue?area=tingbjerg&amp;lang=da\""),
        "the switch keeps the page's query"
    );
    let still = c.get("/queue").await;
    assert!(
        still.body.contains("<html lang=\"en\""),
        "the cookie remembers English"
    );

    // Signing out ends the session on the server.
    let csrf = still.csrf();
    let out = c.post("/signout", form(&[("csrf", &csrf)])).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/queue").await.status, StatusCode::SEE_OTHER);
}

fn c_cookie(set: &[String]) -> Vec<String> {
    set.iter()
        .filter(|c| c.starts_with("letting_session="))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_signs_in_and_a_revoked_or_wrong_one_does_not() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    let csrf = c.get("/signin").await.csrf();
    let wrong = c
        .post(
            "/signin",
            form(&[("csrf", &csrf), ("api_key", "lr_nothing")]),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = c
        .post("/signin", form(&[("csrf", &csrf), ("api_key", &fx.key)]))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let queue = c.get("/queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(
        queue.body.contains("key:"),
        "the key's id stands for the caseworker"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_shrinks_the_queue_and_the_report_counts_it() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let queue = c.get("/queue").await;
    let pending = queue_count(&queue.body);
    assert_eq!(
        pending, 8,
        "the demo leaves 8 lettings pending at the end of 2007"
    );
    let lettings = queue_lettings(&queue.body);
    assert_eq!(lettings.len(), pending);

    let report = c.get("/report?quarter=2007Q4").await;
    assert_eq!(report.status, StatusCode::OK);
    let approvals = figure(&report.body, "fig-approvals");

    let id = &exposed(&fx).await[0];
    let page = c.get(&format!("/lettings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for part in [
        "Begrundelse",
        "Oplysninger, afgørelsen bygger på",
        "Regelgrundlag og versioner",
        "Kilde",
    ] {
        assert!(page.body.contains(part), "the letting page shows {part}");
    }
    let action = format!("/lettings/{id}/approve");
    let (csrf, key) = (page.csrf(), page.form_key(&action));

    // Considerations are required.
    let empty = c
        .post(
            &action,
            form(&[
                ("csrf", &csrf),
                ("key", &key),
                ("reason", " "),
                ("date", "2007-12-31"),
            ]),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    let fields = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("reason", "Husstanden har tilknytning til arbejdsmarkedet."),
        ("date", "2007-12-31"),
    ];
    let done = c.post(&action, form(&fields)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location.expect("to the letting");
    assert!(location.starts_with(&format!("/lettings/{id}?done=approved&decision=")));
    // The same form sent again is the same act (its idempotency key).
    let again = c.post(&action, form(&fields)).await;
    assert_eq!(again.location.as_deref(), Some(location.as_str()));

    let after = c.get(&location).await;
    assert!(after.body.contains("data-status=\"approved\""));
    assert!(after.body.contains("Udlejningen er godkendt."));
    let queue = c.get("/queue").await;
    assert_eq!(queue_count(&queue.body), pending - 1);
    assert!(!queue_lettings(&queue.body).contains(id));

    let report = c.get("/report?quarter=2007Q4").await;
    assert_eq!(figure(&report.body, "fig-approvals"), approvals + 1);
    let decision = location.split("decision=").nth(1).unwrap().to_owned();
    assert!(
        report
            .body
            .contains(&format!("href=\"/decisions/{decision}\""))
    );

    // The printable decision names the caseworker.
    let printed = c.get(&format!("/decisions/{decision}")).await;
    assert_eq!(printed.status, StatusCode::OK);
    assert!(printed.body.contains("id=\"decision-caseworker\">kirsten<"));
    assert!(
        printed
            .body
            .contains("Husstanden har tilknytning til arbejdsmarkedet.")
    );
    assert!(
        printed.body.contains("Klagevejledning"),
        "the act says how to complain"
    );

    // The full report in its own rendering.
    let full = c.get("/report/full?quarter=2007Q4").await;
    assert_eq!(full.status, StatusCode::OK);
    assert!(full.body.contains("Compliance report 2007Q4"));
    assert!(
        full.body
            .contains(&format!("<a href=\"/decisions/{decision}\">{decision}</a>")),
        "the full report's evidence links to the decisions"
    );
}

/// The pending lettings in exposed areas, oldest first: there the municipality approves
/// and rejects (in the demo's high-risk areas the rules give it no such act).
async fn exposed(fx: &Fixture) -> Vec<String> {
    let municipality = letting_rules::service::Principal::Municipality {
        municipality: "0101".into(),
    };
    let queue = fx
        .ledger
        .approval_queue(&municipality, Default::default())
        .await
        .unwrap();
    let ids: Vec<String> = queue
        .into_iter()
        .filter(|i| i.state.area_class == "exposed")
        .map(|i| i.letting_id)
        .collect();
    assert!(
        ids.len() >= 2,
        "the demo leaves lettings pending in exposed areas"
    );
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn rejecting_shows_the_replacement_obligation_and_the_offer_is_outside_exposed_areas() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let municipality = letting_rules::service::Principal::Municipality {
        municipality: "0101".into(),
    };
    let id = &exposed(&fx).await[1];
    let page = c.get(&format!("/lettings/{id}")).await;
    let action = format!("/lettings/{id}/reject");
    let done = c
        .post(
            &action,
            form(&[
                ("csrf", &page.csrf()),
                ("key", &page.form_key(&action)),
                (
                    "reason",
                    "Husstanden modtager kontanthjælp; området er udsat.",
                ),
                ("date", "2007-12-31"),
                ("replacement_owed", "true"),
            ]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = c.get(done.location.as_deref().unwrap()).await;
    assert!(
        after
            .body
            .contains("data-status=\"rejected_by_municipality\"")
    );
    assert!(after.body.contains("id=\"replacement-obligation\""));
    assert!(after.body.contains("Erstatningsbolig skyldes"));

    // The offer form lists only vacancies outside exposed areas.
    let offers = fx
        .ledger
        .open_vacancies(&municipality, fx.ledger.today(), true, None)
        .await
        .unwrap();
    assert!(
        !offers.is_empty(),
        "the demo has open vacancies outside exposed areas"
    );
    assert!(
        offers
            .iter()
            .all(|v| v.class != "exposed" && v.class != "hard_exposed")
    );
    let action = format!("/lettings/{id}/offer");
    assert!(after.body.contains(&format!("action=\"{action}\"")));
    for v in &offers {
        assert!(after.body.contains(&format!("value=\"{}\"", v.vacancy_id)));
    }
    let offered = c
        .post(
            &action,
            form(&[
                ("csrf", &after.csrf()),
                ("key", &after.form_key(&action)),
                ("vacancy_id", &offers[0].vacancy_id),
                ("date", "2007-12-31"),
            ]),
        )
        .await;
    assert_eq!(offered.status, StatusCode::SEE_OTHER, "{}", offered.body);
    let offer_decision = offered
        .location
        .as_deref()
        .and_then(|l| l.split("decision=").nth(1))
        .unwrap()
        .to_owned();
    let printed = c.get(&format!("/decisions/{offer_decision}")).await;
    assert!(
        printed.body.contains("id=\"decision-caseworker\">kirsten<"),
        "the offer names the caseworker"
    );
    let last = c.get(offered.location.as_deref().unwrap()).await;
    assert!(last.body.contains("Tilbudt ved tilbud"));
    assert!(
        !last.body.contains(&format!("action=\"{action}\"")),
        "one offer meets the obligation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_its_csrf_token_is_refused() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let lettings = queue_lettings(&c.get("/queue").await.body);
    let id = &lettings[0];
    let page = c.get(&format!("/lettings/{id}")).await;
    let action = format!("/lettings/{id}/approve");
    let key = page.form_key(&action);
    let reason = ("reason", "Godkendes.");
    let date = ("date", "2007-12-31");
    let missing = c.post(&action, form(&[("key", &key), reason, date])).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("sikkerhedsnøgle"));
    let forged = c
        .post(
            &action,
            form(&[("csrf", "00ff"), ("key", &key), reason, date]),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Another session's token is not this one's.
    let mut other = fx.client();
    other.sign_in("kirsten").await;
    let theirs = other.get("/queue").await.csrf();
    let crossed = c
        .post(
            &action,
            form(&[("csrf", &theirs), ("key", &key), reason, date]),
        )
        .await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    for path in ["/referrals", "/grants", "/signout"] {
        let r = c.post(path, form(&[("key", &key)])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        queue_count(&c.get("/queue").await.body),
        8,
        "nothing was approved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_reads_but_cannot_approve() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("revisor").await;
    let queue = c.get("/queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    let lettings = queue_lettings(&queue.body);
    let id = &lettings[0];
    let page = c.get(&format!("/lettings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let action = format!("/lettings/{id}/approve");
    assert!(
        !page.body.contains(&format!("action=\"{action}\"")),
        "no form for an auditor"
    );
    // Sent anyway, with the session's own token: the service refuses it.
    let refused = c
        .post(
            &action,
            form(&[
                ("csrf", &page.csrf()),
                ("key", "auditor-try"),
                ("reason", "Godkendes."),
                ("date", "2007-12-31"),
            ]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .body
            .contains("only the municipality may approve lettings")
    );
    assert_eq!(c.get("/report?quarter=2007Q2").await.status, StatusCode::OK);
    assert_eq!(c.get("/areas?year=2007").await.status, StatusCode::OK);
    let grants = c.get("/grants").await;
    assert!(!grants.body.contains("action=\"/grants\""));
    assert_eq!(queue_count(&c.get("/queue").await.body), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_sees_only_its_own_lettings() {
    let fx = Fixture::new().await;
    let municipality = letting_rules::service::Principal::Municipality {
        municipality: "0101".into(),
    };
    let queue = fx
        .ledger
        .approval_queue(&municipality, Default::default())
        .await
        .unwrap();
    let item = &queue[0];
    let owner = item
        .organisation
        .clone()
        .expect("an organisation's letting");
    let stranger = ["kab", "fsb", "akb"]
        .into_iter()
        .find(|o| *o != owner)
        .unwrap();

    let mut theirs = fx.client();
    theirs.sign_in(&format!("{stranger}-sagsbehandler")).await;
    let hidden = theirs.get(&format!("/lettings/{}", item.letting_id)).await;
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "not revealed to another organisation"
    );
    let decision = &item.state.decisions[0];
    assert_eq!(
        theirs.get(&format!("/decisions/{decision}")).await.status,
        StatusCode::NOT_FOUND
    );
    let their_queue = theirs.get("/queue").await;
    assert_eq!(their_queue.status, StatusCode::OK);
    assert!(!queue_lettings(&their_queue.body).contains(&item.letting_id));
    let asked = theirs.get(&format!("/queue?organisation={owner}")).await;
    assert_eq!(
        queue_count(&asked.body),
        0,
        "the filter cannot widen an organisation's view"
    );
    assert_eq!(theirs.get("/report").await.status, StatusCode::FORBIDDEN);

    if ["kab", "fsb", "akb"].contains(&owner.as_str()) {
        let mut own = fx.client();
        own.sign_in(&format!("{owner}-sagsbehandler")).await;
        let own_queue = queue_lettings(&own.get("/queue").await.body);
        assert!(own_queue.contains(&item.letting_id));
        let all_own = queue
            .iter()
            .filter(|i| i.organisation.as_deref() == Some(owner.as_str()))
            .count();
        assert_eq!(own_queue.len(), all_own, "its own lettings, all of them");
        let page = own.get(&format!("/lettings/{}", item.letting_id)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("/approve\""),
            "an organisation does not approve"
        );
        assert_eq!(
            own.get(&format!("/decisions/{decision}")).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_filters_and_reads_as_recorded() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let all = c.get("/queue").await;
    let rows = queue_rows(&all.body);
    insta::assert_snapshot!("queue_da", rows.join("\n"));
    let area = rows[0].split(" | ").nth(1).unwrap().to_owned();
    let filtered = c.get(&format!("/queue?area={area}")).await;
    let n = queue_count(&filtered.body);
    assert!((1..=8).contains(&n));
    assert!(
        queue_rows(&filtered.body)
            .iter()
            .all(|r| r.contains(&format!(" | {area} | ")))
    );
    let none = c.get("/queue?organisation=nobody").await;
    assert_eq!(queue_count(&none.body), 0);
}

/// The queue's rows as text: cells joined by ` | `, tags removed.
fn queue_rows(body: &str) -> Vec<String> {
    let Some(start) = body.find("<tbody>") else {
        return Vec::new();
    };
    let end = body[start..].find("</tbody>").unwrap() + start;
    body[start..end]
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| strip_tags(cell).trim().to_owned())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_answers_for_the_municipality() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    for path in [
        "/",
        "/queue",
        "/decisions",
        "/referrals",
        "/grants",
        "/report?quarter=2007Q2",
        "/report?from=2007-04-01&to=2007-05-15",
        "/areas?year=2007",
        "/assets/dkfds/css/dkfds.min.css",
        "/assets/console.css",
    ] {
        let page = c.get(path).await;
        assert!(
            page.status == StatusCode::OK || page.status == StatusCode::SEE_OTHER,
            "{path}: {}",
            page.status
        );
    }
    assert_eq!(
        c.get("/decisions/not-a-decision").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/report?quarter=2007Q5").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// Every act names the caseworker in the decision log: a grant decided in the console
/// carries the signed-in user, and its decision page shows the year's pool and the name.
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_decided_in_the_console_records_the_caseworker() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let page = c.get("/grants").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"pool-remaining\""));
    let done = c
        .post(
            "/grants",
            form(&[
                ("csrf", &page.csrf()),
                ("key", &page.form_key("/grants")),
                ("applicant_ref", "hh-console-1"),
                ("age", "44"),
                ("benefit", "cash_benefit"),
                ("benefit_since", ""),
                ("purpose", "move_out_of_exposed_area"),
                ("amount", ""),
                ("current_area_class", "exposed"),
                ("resource_weak", "true"),
                ("date", "2007-12-31"),
            ]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location.unwrap();
    let id = location.strip_prefix("/decisions/").unwrap();
    let logged = fx
        .ledger
        .get_decision(
            &letting_rules::service::Principal::Auditor {
                municipality: "0101".into(),
            },
            id,
        )
        .await
        .unwrap();
    assert_eq!(
        letting_rules::service::caseworker_of(&logged.body),
        Some("kirsten")
    );
    let shown = c.get(&location).await;
    assert!(shown.body.contains("id=\"decision-caseworker\">kirsten<"));
}

/// A referral recorded in the console: the rules decide it, and its decision names the
/// caseworker.
#[tokio::test(flavor = "multi_thread")]
async fn a_referral_recorded_in_the_console_records_the_caseworker() {
    let fx = Fixture::new().await;
    let mut c = fx.client();
    c.sign_in("kirsten").await;
    let page = c.get("/referrals").await;
    assert_eq!(page.status, StatusCode::OK);
    let vacancy = console_support::first_option(&page.body, "vacancy_id");
    let done = c
        .post(
            "/referrals",
            form(&[
                ("csrf", &page.csrf()),
                ("key", &page.form_key("/referrals")),
                ("vacancy_id", &vacancy),
                ("applicant_ref", "hh-referral-1"),
                ("age", "35"),
                ("benefit", "cash_benefit"),
                ("benefit_since", ""),
                ("date", "2008-01-15"),
            ]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shown = c.get(done.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Kommunal anvisning"));
    assert!(shown.body.contains("id=\"decision-caseworker\">kirsten<"));
}
