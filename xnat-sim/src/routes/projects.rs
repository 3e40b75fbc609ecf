//! Projects: list, create (PUT query form, PUT/POST XML), detail, delete (fidelity spec §5).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::access;
use crate::envelope::{field_children, items_response, restlet_error, row, ItemNode, ResultSet};
use crate::params::{Caller, Params};
use crate::state::{Accessibility, Project, State as SimState};
use crate::table::{self, Listing};
use crate::AppState;

use crate::routes::project_edit as edit;
pub use crate::routes::project_edit::valid_id;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/projects", get(list).post(edit::create_from_list))
        .route(
            "/data/projects/{project}",
            get(detail)
                .put(edit::put_project)
                .post(edit::put_project)
                .delete(edit::delete),
        )
}

pub const SHORTCUTS: &[&str] = &[
    "ID",
    "secondary_ID",
    "name",
    "description",
    "keywords",
    "alias",
    "pi_firstname",
    "pi_lastname",
    "note",
    "insert_date",
    "insert_user",
];

const FILTERED_TRIGGERS: &[&str] = &[
    "accessible",
    "data",
    "prearc_code",
    "owner",
    "member",
    "collaborator",
    "admin",
    "activeSince",
    "recent",
    "favorite",
];

/// Append the cell `key` (a shortcut or a lower-cased xpath) of `p` to `out`.
fn write_cell(p: &Project, key: &str, out: &mut String) {
    let k = key.strip_prefix("xnat:projectdata/").unwrap_or(key);
    let is = |name: &str| k.eq_ignore_ascii_case(name);
    let text: &str = if is("id") {
        &p.id
    } else if is("secondary_id") {
        &p.secondary_id
    } else if is("name") {
        &p.name
    } else if is("description") {
        &p.description
    } else if is("keywords") {
        &p.keywords
    } else if is("alias") || is("aliases/alias/alias") {
        for (i, a) in p.aliases.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(a);
        }
        return;
    } else if is("pi_firstname") || is("pi/firstname") {
        &p.pi_firstname
    } else if is("pi_lastname") || is("pi/lastname") {
        &p.pi_lastname
    } else if is("note") {
        &p.note
    } else if is("insert_date") {
        &p.insert_date
    } else if is("insert_user") {
        &p.insert_user
    } else if is("accessibility") || is("project_access") {
        p.accessibility.as_str()
    } else {
        let custom = table::custom_field_cell(key, &p.fields).unwrap_or_default();
        out.push_str(&custom);
        return;
    };
    out.push_str(text);
}

async fn list(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    if FILTERED_TRIGGERS.iter().any(|t| q.has(t)) {
        return filtered_list(&st, &caller, &q);
    }
    let restrict = q.get_ci("restrict");
    let items: Vec<&Project> = st
        .projects
        .values()
        .filter(|p| access::can_see_project(&caller, p))
        .filter(|p| match restrict {
            Some("edit") => access::can_edit(&caller, p),
            Some("delete") => access::can_delete(&caller, p),
            _ => true,
        })
        .collect();
    let listing = Listing {
        defaults: &[
            "ID",
            "secondary_ID",
            "name",
            "description",
            "pi_firstname",
            "pi_lastname",
        ],
        shortcuts: SHORTCUTS,
        forced: &[],
        date_keys: &["insert_date"],
    };
    let rs = table::build_into(
        items,
        &q,
        &listing,
        |p, k, out| write_cell(p, k, out),
        |p, out| {
            out.push_str("/data/projects/");
            out.push_str(&p.id);
        },
    );
    rs.respond(q.format().as_deref())
}

/// The display-search flavour (lower-case keys, `title: "Projects"`), see fidelity spec §5.1(b).
fn filtered_list(st: &SimState, caller: &Caller, q: &Params) -> Response {
    if let Some(d) = q.get_ci("data") {
        if d != "readable" && d != "writable" {
            return restlet_error(StatusCode::BAD_REQUEST, "");
        }
    }
    let user_id = st
        .users
        .get(caller.name())
        .map(|u| u.id)
        .unwrap_or_default();
    let want = |key: &str| q.get_ci(key).map(|v| v.eq_ignore_ascii_case("true"));
    let role_filter = [
        ("owner", crate::state::Role::Owner),
        ("member", crate::state::Role::Member),
        ("collaborator", crate::state::Role::Collaborator),
    ];
    let rows = st
        .projects
        .values()
        .filter(|p| match want("accessible") {
            Some(true) => access::can_see_project(caller, p),
            Some(false) => access::role(caller, p).is_none(),
            None => access::can_see_project(caller, p),
        })
        .filter(|p| {
            let asked: Vec<_> = role_filter
                .iter()
                .filter(|(k, _)| want(k) == Some(true))
                .collect();
            asked.is_empty()
                || asked
                    .iter()
                    .any(|(_, r)| access::role(caller, p) == Some(*r))
        })
        .filter(|p| match q.get_ci("data") {
            Some("writable") => access::can_edit(caller, p),
            Some(_) => access::can_read(caller, p),
            None => true,
        })
        .map(|p| {
            let role = access::role(caller, p).map(|r| r.display()).unwrap_or("");
            let icon = if p.accessibility == Accessibility::Private {
                "/@WEBAPPimages/key.gif"
            } else {
                "/@WEBAPPimages/globe.gif"
            };
            row([
                ("id", p.id.clone()),
                ("secondary_id", p.secondary_id.clone()),
                ("name", p.name.clone()),
                ("description", p.description.clone()),
                (
                    "pi",
                    format!("{} {}", p.pi_firstname, p.pi_lastname)
                        .trim()
                        .to_string(),
                ),
                ("project_invs", String::new()),
                ("project_access", p.accessibility.as_str().to_string()),
                ("project_access_img", icon.to_string()),
                ("insert_date", p.insert_date.clone()),
                ("insert_user", p.insert_user.clone()),
                (&format!("user_role_{user_id}") as &str, role.to_string()),
                (&format!("last_accessed_{user_id}") as &str, String::new()),
                ("quarantine_status", "active".to_string()),
            ])
        })
        .collect();
    ResultSet::new(rows)
        .meta("title", "Projects")
        .meta("xdat_user_id", user_id.to_string())
        .with_total()
        .respond(q.format().as_deref())
}

pub fn project_item(p: &Project) -> ItemNode {
    let mut node = ItemNode::new("xnat:projectData")
        .field("ID", p.id.as_str())
        .opt("secondary_ID", Some(&p.secondary_id))
        .opt("name", Some(&p.name))
        .opt("description", Some(&p.description))
        .opt("keywords", Some(&p.keywords))
        .opt("note", Some(&p.note))
        .opt("PI/firstname", Some(&p.pi_firstname))
        .opt("PI/lastname", Some(&p.pi_lastname))
        .field("accessibility", p.accessibility.as_str());
    let aliases = p
        .aliases
        .iter()
        .map(|a| ItemNode::new("xnat:projectData_alias").field("alias", a.as_str()))
        .collect();
    node = node
        .child("aliases/alias", aliases)
        .child(
            "fields/field",
            field_children("xnat:projectData", &p.fields),
        )
        .child("studyProtocol", study_protocols(p));
    node.start_date = Some(p.insert_date.clone());
    node
}

/// The project's variable sets grouped by data type, one `xnat:studyProtocol` per type, each
/// holding its `definitions/definition` groups and their `fields/field` definitions. The XML form
/// (`project_xml`) is what pyxnat's `get_custom_variables` reads (`//xnat:studyProtocol`,
/// `xnat:definitions/xnat:definition`, `xnat:fields/xnat:field` with `name`, `type="custom"`,
/// `datatype`); the JSON nesting follows ItemJSONBuilder's children rule (**UNCONFIRMED** on a
/// live server).
fn study_protocols(p: &Project) -> Vec<ItemNode> {
    let mut types: Vec<&str> = p
        .variable_sets
        .iter()
        .map(|v| v.data_type.as_str())
        .collect();
    types.dedup();
    types
        .into_iter()
        .map(|t| {
            let groups = p
                .variable_sets
                .iter()
                .filter(|v| v.data_type == t)
                .map(|v| {
                    let fields = v
                        .fields
                        .iter()
                        .map(|f| {
                            let values = f
                                .possible_values
                                .iter()
                                .map(|pv| {
                                    ItemNode::new("xnat:fieldDefinitionGroup_field_possibleValue")
                                        .field("possibleValue", pv.as_str())
                                })
                                .collect();
                            ItemNode::new("xnat:fieldDefinitionGroup_field")
                                .field("name", f.name.as_str())
                                .field("type", "custom")
                                .field("datatype", f.datatype.as_str())
                                .field("required", if f.required { "1" } else { "0" })
                                .field(
                                    "xmlPath",
                                    format!("{t}/fields/field[name={}]/field", f.name),
                                )
                                .child("possibleValues/possibleValue", values)
                        })
                        .collect();
                    ItemNode::new("xnat:fieldDefinitionGroup")
                        .field("ID", v.id.as_str())
                        .field("data-type", t)
                        .field("project-specific", "1")
                        .child("fields/field", fields)
                })
                .collect();
            ItemNode::new("xnat:datatypeProtocol")
                .field("ID", format!("{}_{}", p.id, t.replace(':', "_")))
                .field("data-type", t)
                .field("name", t)
                .child("definitions/definition", groups)
        })
        .collect()
}

fn study_protocols_xml(p: &Project) -> String {
    use crate::envelope::xml_escape as e;
    let mut out = String::new();
    for proto in study_protocols(p) {
        let attr =
            |n: &ItemNode, k: &str| e(n.data_fields.get(k).and_then(|v| v.as_str()).unwrap_or(""));
        out.push_str(&format!(
            "<xnat:studyProtocol ID=\"{}\" data-type=\"{}\" name=\"{}\" xsi:type=\"xnat:datatypeProtocol\">\n<xnat:definitions>\n",
            attr(&proto, "ID"),
            attr(&proto, "data-type"),
            attr(&proto, "name")
        ));
        for (_, groups) in &proto.children {
            for g in groups {
                out.push_str(&format!(
                    "<xnat:definition ID=\"{}\" data-type=\"{}\" project-specific=\"1\">\n<xnat:fields>\n",
                    attr(g, "ID"),
                    attr(g, "data-type")
                ));
                for (_, fields) in &g.children {
                    for f in fields {
                        out.push_str(&format!(
                            "<xnat:field name=\"{}\" type=\"custom\" datatype=\"{}\" required=\"{}\" xmlPath=\"{}\"",
                            attr(f, "name"),
                            attr(f, "datatype"),
                            attr(f, "required"),
                            attr(f, "xmlPath")
                        ));
                        let values: Vec<&ItemNode> =
                            f.children.iter().flat_map(|(_, v)| v.iter()).collect();
                        if values.is_empty() {
                            out.push_str("/>\n");
                        } else {
                            out.push_str(">\n<xnat:possibleValues>\n");
                            for v in values {
                                out.push_str(&format!(
                                    "<xnat:possibleValue>{}</xnat:possibleValue>\n",
                                    attr(v, "possibleValue")
                                ));
                            }
                            out.push_str("</xnat:possibleValues>\n</xnat:field>\n");
                        }
                    }
                }
                out.push_str("</xnat:fields>\n</xnat:definition>\n");
            }
        }
        out.push_str("</xnat:definitions>\n</xnat:studyProtocol>\n");
    }
    out
}

fn project_xml(p: &Project) -> String {
    use crate::envelope::xml_escape as e;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Project ID=\"{}\" secondary_ID=\"{}\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<xnat:name>{}</xnat:name>\n",
        e(&p.id),
        e(&p.secondary_id),
        e(&p.name)
    );
    if !p.description.is_empty() {
        out.push_str(&format!(
            "<xnat:description>{}</xnat:description>\n",
            e(&p.description)
        ));
    }
    if !p.keywords.is_empty() {
        out.push_str(&format!(
            "<xnat:keywords>{}</xnat:keywords>\n",
            e(&p.keywords)
        ));
    }
    if !p.pi_firstname.is_empty() || !p.pi_lastname.is_empty() {
        out.push_str(&format!(
            "<xnat:PI><xnat:firstname>{}</xnat:firstname><xnat:lastname>{}</xnat:lastname></xnat:PI>\n",
            e(&p.pi_firstname),
            e(&p.pi_lastname)
        ));
    }
    out.push_str(&study_protocols_xml(p));
    out.push_str("</xnat:Project>\n");
    out
}

/// Find a visible project by ID or alias; invisible or unknown → the 404 a real server sends.
pub fn visible<'a>(st: &'a SimState, caller: &Caller, key: &str) -> Result<&'a Project, Response> {
    match st.project_by_id_or_alias(key) {
        Some(p) if access::can_see_project(caller, p) => Ok(p),
        _ => Err(restlet_error(
            StatusCode::NOT_FOUND,
            "Unable to find the specified experiment.",
        )),
    }
}

async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let p = match visible(&st, &caller, &project) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match q.format().as_deref() {
        Some("json") => items_response(&project_item(p)),
        _ => crate::envelope::with_type(StatusCode::OK, "text/xml", project_xml(p)),
    }
}
