//! The chat scenarios, and the set-up they share: members added to the fixture's project
//! as editors, public rooms created by the fixture's user, and every member joined to
//! every room, all through the real REST API.
//!
//! - `chat` ([`live`]): messages posted over REST, delivered to every member's realtime
//!   socket; deliveries per second and post-to-delivery latency.
//! - `chat-list` ([`list`]): the room list with unread and mention counts, for a member of
//!   many rooms once the store holds many messages.

mod list;
mod live;
mod seed;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::fixture::{Fixture, PASSWORD, text};

pub use list::{ListOptions, list};
pub use live::{LiveOptions, live};

/// Accounts being registered at once: each costs the server a password hash.
const REGISTERING: usize = 4;

/// Someone in the fixture's project, with tokens [`keep_fresh`] renews.
#[derive(Debug)]
pub struct Member {
    pub email: String,
    /// The access and refresh tokens. A std lock: held only to clone or replace them,
    /// never across an await.
    tokens: Mutex<(String, String)>,
}

impl Member {
    fn new(email: String, access: String, refresh: String) -> Arc<Self> {
        Arc::new(Self {
            email,
            tokens: Mutex::new((access, refresh)),
        })
    }

    /// The current access token.
    pub fn token(&self) -> String {
        self.tokens.lock().expect("tokens lock").0.clone()
    }

    /// Trades the refresh token for a new pair.
    async fn refresh(&self, fixture: &Fixture) -> anyhow::Result<()> {
        let refresh = self.tokens.lock().expect("tokens lock").1.clone();
        let pair =
            post_anonymous(fixture, "/auth/refresh", &json!({"refresh_token": refresh})).await?;
        *self.tokens.lock().expect("tokens lock") =
            (text(&pair, "access_token")?, text(&pair, "refresh_token")?);
        Ok(())
    }
}

/// The fixture's user (the project's owner) first, then `others` fresh accounts added to
/// the project as editors.
pub async fn members(fixture: &Fixture, others: usize) -> anyhow::Result<Vec<Arc<Member>>> {
    let owner = Member::new(
        fixture.email.clone(),
        fixture.token.clone(),
        fixture.refresh_token.clone(),
    );
    let added: Vec<Arc<Member>> = futures::stream::iter(0..others)
        .map(|_| async {
            let email = format!("bench-{}@example.com", uuid::Uuid::now_v7().simple());
            let body = json!({"email": email, "password": PASSWORD, "name": "Bench member"});
            let registered = post_anonymous(fixture, "/auth/register", &body).await?;
            let path = format!("/projects/{}/members", fixture.project);
            post(
                fixture,
                &fixture.token,
                &path,
                &json!({"email": email, "role": "editor"}),
            )
            .await?;
            anyhow::Ok(Member::new(
                email,
                text(&registered, "access_token")?,
                text(&registered, "refresh_token")?,
            ))
        })
        .buffered(REGISTERING)
        .try_collect()
        .await?;
    Ok(std::iter::once(owner).chain(added).collect())
}

/// Creates `count` public rooms as the fixture's user, who is so the first member of
/// each; their ids, in creation order.
pub async fn rooms(
    fixture: &Fixture,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let path = format!("/projects/{}/rooms", fixture.project);
    futures::stream::iter(0..count)
        .map(|i| {
            let body = json!({"name": format!("bench-{i}"), "visibility": "public"});
            let path = &path;
            async move { text(&post(fixture, &fixture.token, path, &body).await?, "id") }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

/// Every member but the first (the rooms' creator, in already) joins every room,
/// `concurrency` joins in flight.
pub async fn join_all(
    fixture: &Fixture,
    members: &[Arc<Member>],
    rooms: &[String],
    concurrency: usize,
) -> anyhow::Result<()> {
    let joins = members
        .iter()
        .skip(1)
        .flat_map(|member| rooms.iter().map(move |room| (member, room)));
    futures::stream::iter(joins)
        .map(|(member, room)| async move {
            post(
                fixture,
                &member.token(),
                &format!("/rooms/{room}/join"),
                &json!({}),
            )
            .await
        })
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Renews every member's tokens every ten minutes (an access token lasts fifteen), so a
/// run longer than a token's life keeps going. Abort the task when the run ends.
pub fn keep_fresh(fixture: &Fixture, members: &[Arc<Member>]) -> tokio::task::JoinHandle<()> {
    let (fixture, members) = (fixture.clone(), members.to_vec());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10 * 60)).await;
            for member in &members {
                if let Err(error) = member.refresh(&fixture).await {
                    eprintln!("chat: renewing a token failed: {error:#}");
                }
            }
        }
    })
}

/// POSTs `body` to `path` (under `/api/v1`) with `token`; the JSON answer, or an error
/// with the status and the server's problem.
pub async fn post(
    fixture: &Fixture,
    token: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let request = fixture
        .client
        .post(format!("{}/api/v1{path}", fixture.base))
        .bearer_auth(token);
    answer(request.json(body), path).await
}

async fn post_anonymous(fixture: &Fixture, path: &str, body: &Value) -> anyhow::Result<Value> {
    let request = fixture
        .client
        .post(format!("{}/api/v1{path}", fixture.base));
    answer(request.json(body), path).await
}

async fn answer(request: reqwest::RequestBuilder, path: &str) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let body = response.text().await?;
    anyhow::ensure!(status.is_success(), "POST {path}: {status}: {body}");
    serde_json::from_str(&body).with_context(|| format!("POST {path}: not JSON: {body}"))
}

/// A well-mixed number from `i` (splitmix64): choices that look random and are the same
/// on every run.
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
