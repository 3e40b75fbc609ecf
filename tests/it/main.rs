//! The integration tests, as one test binary: one module per command group, the real xnatctl
//! binary run against the in-process simulator (helpers in `support`).

mod admin;
mod anon;
mod auth_token;
mod client_auth;
mod client_retry;
mod command_tree;
mod container;
mod contract;
mod dicom;
mod doctor;
mod download;
mod download_archive;
mod event;
mod everyday;
mod failure_paths;
mod local_extract;
mod manifest;
mod pipeline;
mod prearchive;
mod project;
mod pull;
mod requests;
mod resource;
mod scan;
mod scp;
mod search;
mod session;
mod subject;
mod support;
mod transfer;
mod upgrade;
mod upload;
mod upload_dicom;
mod vars;
mod xsync;
