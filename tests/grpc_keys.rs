//! KeyService: the municipality makes, lists and revokes the keys of its own municipality
//! over gRPC; and `letting keys --format json` on the command line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use common::{Bearer, TestServer, bearer, code_of, vacancy};
use letting_rules::grpc::auth::hash_secret;
use letting_rules::grpc::pb::{self, key_service_client::KeyServiceClient};
use letting_rules::service::Principal;

type Keys = KeyServiceClient<InterceptedService<Channel, Bearer>>;

async fn keys(server: &TestServer, key: &str) -> Keys {
    KeyServiceClient::with_interceptor(server.channel().await, bearer(Some(key)))
}

fn organisation_key(idempotency_key: &str, organisation: &str) -> pb::CreateKeyRequest {
    pb::CreateKeyRequest {
        idempotency_key: idempotency_key.into(),
        principal: pb::KeyPrincipal::Organisation.into(),
        organisation_id: organisation.into(),
        label: "KAB production".into(),
    }
}

#[tokio::test]
async fn a_municipality_makes_uses_lists_and_revokes_an_organisation_key() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut m = keys(&server, &server.keys.municipality).await;

    let created = m
        .create_key(organisation_key("k-1", "kab"))
        .await
        .expect("create")
        .into_inner();
    let secret = created.secret.clone();
    assert!(secret.starts_with("lr_"), "{secret}");
    let key = created.key.clone().expect("the key");
    assert_eq!(key.principal(), pb::KeyPrincipal::Organisation);
    assert_eq!(key.organisation_id, "kab");
    assert_eq!(key.municipality_code, "0101");
    assert_eq!(key.label, "KAB production");
    assert!(key.revoked_at.is_empty());

    // The new key works, for KAB's departments only.
    let mut kab = server.housing(Some(&secret)).await;
    kab.register_vacancy(vacancy("v-new-key", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect("the new key registers a vacancy of KAB's");
    assert_eq!(
        code_of(
            kab.register_vacancy(vacancy("v-not-kab", "fsb-tingbjerg-1", "2007-03-01"))
                .await
        ),
        Code::PermissionDenied
    );

    // A retry returns the same key without its secret; another request under the same
    // idempotency key is refused.
    let again = m
        .create_key(organisation_key("k-1", "kab"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again.key, created.key);
    assert!(again.secret.is_empty(), "a retry must not carry a secret");
    assert_eq!(
        code_of(m.create_key(organisation_key("k-1", "fsb")).await),
        Code::AlreadyExists
    );

    // Listed with its label and dates, never with a secret or a hash.
    let listed = m
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("list")
        .into_inner();
    let found = listed
        .keys
        .iter()
        .find(|k| k.key_id == key.key_id)
        .expect("the new key is listed");
    assert_eq!(found, &key);
    let text = format!("{listed:?}");
    assert!(!text.contains(&secret) && !text.contains(&hash_secret(&secret)));
    assert!(!text.contains(&hash_secret(&server.keys.kab)));
    // The harness's four keys and the new one, all of 0101.
    assert_eq!(listed.keys.len(), 5);
    assert!(listed.keys.iter().all(|k| k.municipality_code == "0101"));

    // Revoked: refused at once, and listed as revoked.
    let revoked = m
        .revoke_key(pb::RevokeKeyRequest {
            idempotency_key: "r-1".into(),
            key_id: key.key_id.clone(),
        })
        .await
        .expect("revoke")
        .into_inner()
        .key
        .expect("the key");
    assert!(!revoked.revoked_at.is_empty());
    let refused = kab
        .register_vacancy(vacancy("v-after-revoke", "kab-nordvest-3", "2007-03-01"))
        .await;
    assert_eq!(code_of(refused), Code::Unauthenticated);
    let again = m
        .revoke_key(pb::RevokeKeyRequest {
            idempotency_key: "r-1".into(),
            key_id: key.key_id.clone(),
        })
        .await
        .expect("a retry of the revocation")
        .into_inner();
    assert_eq!(again.key.as_ref(), Some(&revoked));
    let listed = m
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed
            .keys
            .iter()
            .any(|k| k.key_id == key.key_id && k.revoked_at == revoked.revoked_at)
    );
    server.stop().await;
}

#[tokio::test]
async fn only_a_municipality_key_manages_keys() {
    let server = TestServer::start().await;
    server.seed().await;
    for key in [&server.keys.kab, &server.keys.auditor] {
        let mut k = keys(&server, key).await;
        assert_eq!(
            code_of(k.create_key(organisation_key("k-x", "kab")).await),
            Code::PermissionDenied
        );
        // Refused before the request is read: an invalid one gets the same answer.
        assert_eq!(
            code_of(k.create_key(pb::CreateKeyRequest::default()).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(k.list_keys(pb::ListKeysRequest {}).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(
                k.revoke_key(pb::RevokeKeyRequest {
                    idempotency_key: "r-x".into(),
                    key_id: "anything".into(),
                })
                .await
            ),
            Code::PermissionDenied
        );
    }
    let mut none = KeyServiceClient::with_interceptor(server.channel().await, bearer(None));
    assert_eq!(
        code_of(none.list_keys(pb::ListKeysRequest {}).await),
        Code::Unauthenticated
    );

    let mut m = keys(&server, &server.keys.municipality).await;
    // No municipality keys over gRPC; no key for an organisation not registered.
    assert_eq!(
        code_of(
            m.create_key(pb::CreateKeyRequest {
                idempotency_key: "k-m".into(),
                principal: pb::KeyPrincipal::Municipality.into(),
                ..Default::default()
            })
            .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(m.create_key(organisation_key("k-nobody", "nobody")).await),
        Code::NotFound
    );
    for bad in [
        pb::CreateKeyRequest {
            idempotency_key: "k-bad-1".into(),
            ..Default::default()
        },
        pb::CreateKeyRequest {
            label: "010170-1234".into(),
            ..organisation_key("k-bad-2", "kab")
        },
        pb::CreateKeyRequest {
            label: "x".repeat(201),
            ..organisation_key("k-bad-3", "kab")
        },
        pb::CreateKeyRequest {
            principal: pb::KeyPrincipal::Auditor.into(),
            ..organisation_key("k-bad-4", "kab")
        },
        organisation_key("", "kab"),
    ] {
        let status = m.create_key(bad).await.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(!status.message().contains("010170"), "{status:?}");
    }

    // An auditor key made over gRPC reads and changes nothing.
    let auditor = m
        .create_key(pb::CreateKeyRequest {
            idempotency_key: "k-aud".into(),
            principal: pb::KeyPrincipal::Auditor.into(),
            organisation_id: String::new(),
            label: "revision 2007".into(),
        })
        .await
        .expect("an auditor key")
        .into_inner();
    assert_eq!(
        auditor.key.as_ref().map(pb::ApiKey::principal),
        Some(pb::KeyPrincipal::Auditor)
    );
    let mut audit = server.municipality(Some(&auditor.secret)).await;
    audit
        .list_pending_approvals(pb::ListPendingApprovalsRequest::default())
        .await
        .expect("an auditor reads");
    assert_eq!(
        code_of(
            audit
                .decide_relocation_grant(common::standard_grant("g-aud", "2007-05-01"))
                .await
        ),
        Code::PermissionDenied
    );
    server.stop().await;
}

#[tokio::test]
async fn a_municipality_sees_and_revokes_only_its_own_keys() {
    let server = TestServer::start().await;
    server.seed().await;
    let (_, other) = server
        .new_key(Principal::Municipality {
            municipality: "0147".into(),
        })
        .await;
    let mut m0101 = keys(&server, &server.keys.municipality).await;
    let mine = m0101
        .create_key(organisation_key("k-1", "kab"))
        .await
        .expect("create")
        .into_inner()
        .key
        .expect("key");

    let mut m0147 = keys(&server, &other).await;
    let listed = m0147
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("list")
        .into_inner();
    assert!(listed.keys.iter().all(|k| k.municipality_code == "0147"));
    assert!(!listed.keys.iter().any(|k| k.key_id == mine.key_id));
    assert_eq!(
        code_of(
            m0147
                .revoke_key(pb::RevokeKeyRequest {
                    idempotency_key: "r-1".into(),
                    key_id: mine.key_id.clone(),
                })
                .await
        ),
        Code::NotFound
    );
    // 0147 makes keys only for organisations it registered.
    assert_eq!(
        code_of(m0147.create_key(organisation_key("k-0", "kab")).await),
        Code::NotFound
    );
    server
        .registry(Some(&other))
        .await
        .upsert_organisation(pb::UpsertOrganisationRequest {
            idempotency_key: "org-kab-0147".into(),
            organisation: Some(pb::Organisation {
                id: "kab".into(),
                name: "KAB".into(),
            }),
        })
        .await
        .expect("0147 registers KAB");
    // A key 0147 makes for KAB is 0147's: it reaches none of KAB's departments in 0101.
    let theirs = m0147
        .create_key(organisation_key("k-1", "kab"))
        .await
        .expect("0147 makes a key for KAB")
        .into_inner();
    assert_eq!(
        theirs.key.as_ref().map(|k| k.municipality_code.as_str()),
        Some("0147")
    );
    let mut kab_in_0147 = server.housing(Some(&theirs.secret)).await;
    assert_eq!(
        code_of(
            kab_in_0147
                .register_vacancy(vacancy("v-x", "kab-nordvest-3", "2007-03-01"))
                .await
        ),
        Code::PermissionDenied
    );
    // 0101's key still works.
    let listed = m0101
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed
            .keys
            .iter()
            .any(|k| k.key_id == mine.key_id && k.revoked_at.is_empty())
    );
    server.stop().await;
}

/// `letting keys` against a database file, with `--format json`.
fn letting_keys(url: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .env_remove("LETTING_DATABASE_URL")
        .args(["keys", "--database-url", url])
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run letting keys");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "letting keys {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn letting_keys_prints_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let added = letting_keys(&url, &["add", "--organisation", "kab", "--label", "KAB"]);
    let secret = added["secret"].as_str().expect("the secret").to_owned();
    assert!(secret.starts_with("lr_"));
    let id = added["key"]["id"].as_str().expect("id").to_owned();
    letting_keys(&url, &["add", "--auditor"]);

    let listed = letting_keys(&url, &["list"]);
    let keys = listed["keys"].as_array().expect("a list of keys");
    assert_eq!(keys.len(), 2);
    let kab = keys.iter().find(|k| k["id"] == id.as_str()).expect("KAB's");
    assert_eq!(kab["kind"], "organisation");
    assert_eq!(kab["organisation"], "kab");
    assert_eq!(kab["municipality"], "0101");
    assert_eq!(kab["label"], "KAB");
    assert_eq!(kab["status"], "active");
    assert!(kab["revoked_at"].is_null());
    assert!(
        chrono::DateTime::parse_from_rfc3339(kab["created_at"].as_str().expect("created_at"))
            .is_ok()
    );
    let text = listed.to_string();
    assert!(!text.contains(&secret) && !text.contains(&hash_secret(&secret)));
    assert!(keys.iter().any(|k| k["kind"] == "auditor"));

    let revoked = letting_keys(&url, &["revoke", &id]);
    assert_eq!(revoked["key"]["status"], "revoked");
    let listed = letting_keys(&url, &["list"]);
    let kab = listed["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["id"] == id.as_str()))
        .expect("still listed");
    assert_eq!(kab["status"], "revoked");
    assert!(kab["revoked_at"].is_string());
}
