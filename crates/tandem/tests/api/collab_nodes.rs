//! Collaborative documents across processes and nodes: every relayed edit survives a
//! kill -9 of the server, and clients on two nodes sharing PostgreSQL and Redis converge
//! with no update lost or doubled in storage.

use serde_json::json;

use crate::cli::serve;
use crate::files::{create_file, file};
use crate::helpers::spawn_app;
use crate::node_restart::shared_env;
use crate::scale_out::second_node;
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

#[tokio::test]
async fn every_relayed_edit_survives_a_kill_9() {
    let app = spawn_app().await;
    // The child server shares this test's database: SQLite or PostgreSQL alike.
    let mut env = vec![(
        "TANDEM_DATABASE_URL",
        secrecy::ExposeSecret::expose_secret(app.settings.database_url.as_ref().unwrap())
            .to_owned(),
    )];
    env.push((
        "TANDEM_SIGNING_SECRET",
        secrecy::ExposeSecret::expose_secret(app.settings.signing_secret.as_ref().unwrap())
            .to_owned(),
    ));
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let created = create_file(
        &app,
        &scene,
        &cast.editor.access_token,
        json!({"path": "a.txt"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (mut node, address) = serve(dir.path(), &env).await;
    let mut writer = YClient::synced(&address, id, &cast.editor.access_token).await;
    let mut reader = YClient::synced(&address, id, &cast.owner.access_token).await;
    let mut expected = String::new();
    for i in 0..50 {
        let chunk = format!("{i},");
        writer.insert(expected.len() as u32, &chunk).await;
        expected.push_str(&chunk);
    }
    // Relayed means stored first.
    reader.until_text(&expected).await;
    node.start_kill().unwrap();
    node.wait().await.unwrap();

    let (_restarted, address) = serve(dir.path(), &env).await;
    let fresh = YClient::synced(&address, id, &cast.viewer.access_token).await;
    assert_eq!(fresh.text(), expected);
    assert_eq!(
        file(&app, id, &cast.viewer.access_token).await["content"],
        expected
    );
}

#[tokio::test]
async fn clients_on_two_nodes_converge_and_storage_holds_each_edit_once() {
    let a = spawn_app().await;
    if shared_env(&a).is_none() {
        // One node only without Redis: the scale-out run covers this.
        return;
    }
    let b = second_node(&a).await;
    let cast = Cast::new(&a).await;
    let scene = Scene::new(&a, &cast).await;
    let created = create_file(
        &a,
        &scene,
        &cast.editor.access_token,
        json!({"path": "a.txt", "content": "|"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    let mut on_a = YClient::synced(&a.address, id, &cast.editor.access_token).await;
    let mut on_b = YClient::synced(&b.address, id, &cast.admin.access_token).await;
    for i in 0..20 {
        on_a.insert(0, &format!("a{i} ")).await;
        on_b.insert(on_b.text().len() as u32, &format!(" b{i}"))
            .await;
    }
    let settled = |c: &crate::yclient::Pumped| {
        c.text.matches('a').count() == 20 && c.text.matches('b').count() == 20
    };
    on_a.pump_until(settled).await;
    on_b.pump_until(settled).await;
    assert_eq!(on_a.text(), on_b.text());
    assert_eq!(
        file(&b, id, &cast.viewer.access_token).await["content"],
        on_a.text()
    );

    // Awareness crosses nodes too.
    on_a.set_awareness(r#"{"user":{"name":"Ada"}}"#).await;
    let ada = on_a.client_id();
    on_b.pump_until(|p| p.awareness.get(&ada).is_some_and(Option::is_some))
        .await;
    drop(on_a);
    on_b.pump_until(|p| p.awareness.get(&ada).is_some_and(Option::is_none))
        .await;
}
