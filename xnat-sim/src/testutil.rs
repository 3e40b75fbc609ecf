//! Helpers for the unit tests: a simulator on loopback and a Basic-auth client.

use reqwest::{Client, Method, StatusCode};

use crate::{start, SimConfig, SimHandle};

pub struct TestSim {
    pub handle: SimHandle,
    pub client: Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// `ResultSet.Result` rows.
    pub fn rows(&self) -> Vec<serde_json::Value> {
        self.json()["ResultSet"]["Result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl TestSim {
    pub async fn new(config: SimConfig) -> Self {
        let handle = start(config).await.expect("sim starts");
        TestSim {
            handle,
            client: Client::new(),
        }
    }

    pub async fn demo() -> Self {
        Self::new(SimConfig::demo()).await
    }

    /// Request as `user:pass` (`None` → anonymous).
    pub async fn call_as(
        &self,
        auth: Option<(&str, &str)>,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> Reply {
        let url = format!("{}{}", self.handle.base_url(), path);
        let mut req = self.client.request(method, url);
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("request sent");
        Reply {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap_or_default(),
        }
    }

    /// Request as the site admin.
    pub async fn call(&self, method: Method, path: &str) -> Reply {
        self.call_as(Some(("admin", "admin")), method, path, None)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path).await
    }

    pub async fn put(&self, path: &str) -> Reply {
        self.call(Method::PUT, path).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path).await
    }
}
