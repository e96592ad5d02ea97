//! Our OpenAPI document: served, complete, and compatible with the Go
//! service's contract (`docs/reference/go-tasker-openapi.json`).

use std::collections::BTreeSet;

use http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{App, document, request};

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/reference/go-tasker-openapi.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference document")).unwrap()
}

/// Follows a `$ref` into our components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(doc, doc.pointer(pointer).expect("dangling $ref"))
        }
        None => schema,
    }
}

/// The types a schema allows (`["string", "null"]`), unwrapping `oneOf`
/// with `null` (how nullable references are written in OpenAPI 3.1).
fn types(doc: &Value, schema: &Value) -> (BTreeSet<String>, Value) {
    let schema = resolve(doc, schema);
    let mut set = BTreeSet::new();
    let mut inner = schema.clone();
    if let Some(options) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        for option in options {
            let option = resolve(doc, option);
            if option["type"] == "null" {
                set.insert("null".to_owned());
            } else {
                let (types, resolved) = types(doc, option);
                set.extend(types);
                inner = resolved;
            }
        }
        return (set, inner);
    }
    // A flattened struct appears as allOf.
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = serde_json::json!({"type": "object", "properties": {}, "required": []});
        for part in parts {
            let part = resolve(doc, part);
            if let Some(props) = part["properties"].as_object() {
                merged["properties"]
                    .as_object_mut()
                    .unwrap()
                    .extend(props.clone());
            }
            if let Some(required) = part["required"].as_array() {
                merged["required"]
                    .as_array_mut()
                    .unwrap()
                    .extend(required.clone());
            }
        }
        return (BTreeSet::from(["object".to_owned()]), merged);
    }
    match &schema["type"] {
        Value::String(t) => {
            set.insert(t.clone());
        }
        Value::Array(list) => set.extend(list.iter().filter_map(|t| t.as_str().map(str::to_owned))),
        _ => {}
    }
    if schema.get("enum").is_some() && set.is_empty() {
        set.insert("string".to_owned());
    }
    (set, inner)
}

/// Which way data flows: a response must promise at least what the contract
/// promises; a request may demand less than the contract (never more).
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Request,
    Response,
}

/// Checks that `ours` describes every field of `theirs` with the same type,
/// nullability and required-ness; returns the differences.
fn compare(
    doc: &Value,
    theirs: &Value,
    ours: &Value,
    at: &str,
    direction: Direction,
    problems: &mut Vec<String>,
) {
    let (our_types, ours) = types(doc, ours);
    let mut their_types = BTreeSet::new();
    if let Some(t) = theirs["type"].as_str() {
        // The reference says "number" for integers.
        their_types.insert(t.to_owned());
    }
    if theirs["nullable"] == true {
        their_types.insert("null".to_owned());
    }
    let normalise = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter()
            .map(|t| {
                if t == "integer" {
                    "number".to_owned()
                } else {
                    t.clone()
                }
            })
            .collect()
    };
    let (ours_norm, theirs_norm) = (normalise(&our_types), normalise(&their_types));
    // A request field may also accept `null` where the contract does not.
    let compatible = ours_norm == theirs_norm
        || (direction == Direction::Request
            && ours_norm
                .iter()
                .all(|t| t == "null" || theirs_norm.contains(t))
            && theirs_norm.is_subset(&ours_norm));
    if !their_types.is_empty() && !compatible {
        problems.push(format!(
            "{at}: type {our_types:?}, reference {their_types:?}"
        ));
        return;
    }
    if let Some(values) = theirs["enum"].as_array() {
        let our_values = ours["enum"].as_array().cloned().unwrap_or_default();
        for value in values {
            if !our_values.contains(value) {
                problems.push(format!("{at}: enum value {value} missing"));
            }
        }
    }
    if let Some(format) = theirs["format"].as_str()
        && ours["format"].as_str() != Some(format)
    {
        problems.push(format!(
            "{at}: format {:?}, reference {format}",
            ours["format"]
        ));
    }
    if let Some(properties) = theirs["properties"].as_object() {
        let their_required: BTreeSet<&str> = theirs["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let our_required: BTreeSet<&str> = ours["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, their_field) in properties {
            let path = format!("{at}.{name}");
            let Some(our_field) = ours["properties"].get(name) else {
                problems.push(format!("{path}: missing"));
                continue;
            };
            let (theirs_req, ours_req) = (
                their_required.contains(name.as_str()),
                our_required.contains(name.as_str()),
            );
            let fine = match direction {
                Direction::Response => theirs_req == ours_req,
                Direction::Request => !ours_req || theirs_req,
            };
            if !fine {
                problems.push(format!("{path}: required differs"));
            }
            compare(doc, their_field, our_field, &path, direction, problems);
        }
    }
    if theirs.get("items").is_some() {
        compare(
            doc,
            &theirs["items"],
            &ours["items"],
            &format!("{at}[]"),
            direction,
            problems,
        );
    }
}

#[test]
fn our_document_is_compatible_with_the_reference_contract() {
    let reference = reference();
    let ours = document();
    let mut problems = Vec::new();
    for (path, operations) in reference["paths"].as_object().unwrap() {
        // The contract's server URL is `/api`; our document lists full paths.
        let our_path = format!("/api{path}");
        for (method, theirs) in operations.as_object().unwrap() {
            let at = format!("{} {our_path}", method.to_uppercase());
            let Some(our_op) = ours["paths"][&our_path].get(method) else {
                problems.push(format!("{at}: missing"));
                continue;
            };
            assert_eq!(our_op["operationId"], theirs["operationId"], "{at}");
            for (status, response) in theirs["responses"].as_object().unwrap() {
                let Some(their_schema) = response.pointer("/content/application~1json/schema")
                else {
                    continue;
                };
                if status == "204" {
                    assert!(our_op["responses"].get("204").is_some(), "{at}: 204");
                    continue;
                }
                match our_op.pointer(&format!(
                    "/responses/{status}/content/application~1json/schema"
                )) {
                    Some(our_schema) => compare(
                        ours,
                        their_schema,
                        our_schema,
                        &format!("{at} {status}"),
                        Direction::Response,
                        &mut problems,
                    ),
                    None => problems.push(format!("{at} {status}: no JSON response")),
                }
            }
            if let Some(body) = theirs.get("requestBody") {
                for (content_type, content) in body["content"].as_object().unwrap() {
                    let pointer = format!(
                        "/requestBody/content/{}/schema",
                        content_type.replace('/', "~1")
                    );
                    match our_op.pointer(&pointer) {
                        Some(our_schema) => compare(
                            ours,
                            &content["schema"],
                            our_schema,
                            &format!("{at} body"),
                            Direction::Request,
                            &mut problems,
                        ),
                        None => problems.push(format!("{at}: no {content_type} body")),
                    }
                }
            }
            for parameter in theirs["parameters"].as_array().into_iter().flatten() {
                let name = &parameter["name"];
                let found = our_op["parameters"].as_array().is_some_and(|list| {
                    list.iter()
                        .any(|p| p["name"] == *name && p["in"] == parameter["in"])
                });
                if !found {
                    problems.push(format!("{at}: parameter {name} missing"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "incompatible with the reference:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let ours = document();
    let documented: BTreeSet<(String, String)> = ours["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "patch", "delete", "put"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = tasker_http::routes()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn the_document_and_the_explorer_are_served_without_internet() {
    let app = App::sqlite().await;
    let doc = app
        .send(request(Method::GET, "/openapi.json", None, None))
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(
        doc.json["paths"].as_object().unwrap().len(),
        document()["paths"].as_object().unwrap().len()
    );
    assert!(doc.json["components"]["securitySchemes"]["bearerAuth"].is_object());
    let redirect = app.send(request(Method::GET, "/docs", None, None)).await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers[header::LOCATION], "docs/");
    let page = app.send(request(Method::GET, "/docs/", None, None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page.bytes).contains("swagger"));
    let init = app
        .send(request(
            Method::GET,
            "/docs/swagger-initializer.js",
            None,
            None,
        ))
        .await;
    assert_eq!(init.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&init.bytes).contains("../openapi.json"));
    let bundle = app
        .send(request(
            Method::GET,
            "/docs/swagger-ui-bundle.js",
            None,
            None,
        ))
        .await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert!(
        bundle.bytes.len() > 100_000,
        "the UI is bundled in the binary"
    );
}

/// Every `$ref` in `value`, recursively.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    let doc = document();
    let mut found = Vec::new();
    refs(doc, &mut found);
    assert!(found.len() > 20, "the document uses references");
    for target in found {
        let pointer = target.trim_start_matches('#');
        assert!(
            doc.pointer(pointer).is_some(),
            "dangling reference {target}"
        );
    }
}

#[test]
fn request_bodies_state_the_rules_the_server_enforces() {
    let schemas = &document()["components"]["schemas"];
    let create = &schemas["CreateTodoRequest"];
    assert_eq!(create["properties"]["title"]["maxLength"], 255);
    assert_eq!(create["properties"]["title"]["minLength"], 1);
    // A partial update needs one of its own fields; other keys are ignored.
    for (name, fields) in [
        ("UpdateTodoRequest", &["title", "status", "metadata"][..]),
        (
            "UpdateCategoryRequest",
            &["name", "color", "description"][..],
        ),
    ] {
        let schema = json!({
            "components": document()["components"].clone(),
            "$ref": format!("#/components/schemas/{name}")
        });
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        assert!(!validator.is_valid(&json!({})), "{name}: {{}}");
        assert!(
            !validator.is_valid(&json!({"colour": 1})),
            "{name}: only an unknown key"
        );
        for field in fields {
            let value = if *field == "status" {
                json!("active")
            } else if *field == "color" {
                json!("#abc")
            } else if *field == "metadata" {
                json!(null)
            } else {
                json!("x")
            };
            let body = json!({ *field: value, "colour": 1 });
            assert!(validator.is_valid(&body), "{name}: {body}");
        }
    }
    assert_eq!(
        schemas["CommentRequest"]["properties"]["content"]["maxLength"],
        1000
    );
    // Keys a body schema does not name are ignored by the server, so the
    // document allows them, as the Go contract did.
    for name in [
        "TodoMetadata",
        "CreateTodoRequest",
        "UpdateTodoRequest",
        "CreateCategoryRequest",
        "UpdateCategoryRequest",
        "CommentRequest",
    ] {
        // The partial updates are `allOf` [their object, "one of its fields"].
        let object = schemas[name]
            .get("allOf")
            .map_or(&schemas[name], |all| &all[0]);
        assert!(object["properties"].is_object(), "{name}: {object}");
        assert!(
            object.get("additionalProperties").is_none(),
            "{name}: {object}"
        );
    }
    let color = json!({
        "components": document()["components"].clone(),
        "$ref": "#/components/schemas/CreateCategoryRequest/properties/color"
    });
    let color = jsonschema::validator_for(&color).expect("schema compiles");
    for ok in ["#abc", "#abcd", "#a1b2c3", "#a1b2c3d4"] {
        assert!(color.is_valid(&json!(ok)), "{ok}");
    }
    for bad in ["#ab", "#abcde", "#1234567", "blue"] {
        assert!(!color.is_valid(&json!(bad)), "{bad}");
    }
}

#[test]
fn list_queries_state_the_go_services_leniency() {
    let operation = &document()["paths"]["/api/v1/todos"]["get"];
    let parameter = |name: &str| {
        operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .clone()
    };
    let search = parameter("search");
    assert!(search["schema"].get("maxLength").is_none(), "{search}");
    assert!(search["schema"].get("minLength").is_none(), "{search}");
    let components = document()["components"].clone();
    for name in ["overdue", "completed"] {
        let schema = json!({"components": components, "allOf": [parameter(name)["schema"]]});
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        for spelling in ["true", "1", "t", "T", "TRUE", "True", "false", "0", "F", ""] {
            assert!(
                validator.is_valid(&json!(spelling)),
                "{name}={spelling}: {schema}"
            );
        }
        assert!(!validator.is_valid(&json!("yes")), "{name}=yes");
    }
}

#[test]
fn links_lead_from_created_resources_to_the_operations_on_them() {
    let doc = document();
    let mut operations = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            if let Some(id) = operation["operationId"].as_str() {
                operations.insert(id.to_owned(), operation.clone());
            }
        }
    }
    let expected = [
        (
            "createTodo",
            &[
                "getTodoById",
                "updateTodo",
                "deleteTodo",
                "getCommentsByTodoId",
                "addComment",
                "uploadTodoAttachment",
                "getTodos",
            ][..],
        ),
        (
            "createCategory",
            &[
                "getCategoryById",
                "updateCategory",
                "deleteCategory",
                "getTodos",
            ][..],
        ),
        ("addComment", &["updateComment", "deleteComment"][..]),
        (
            "uploadTodoAttachment",
            &["getAttachmentPresignedURL", "deleteTodoAttachment"][..],
        ),
    ];
    for (source, targets) in expected {
        let links = operations[source]["responses"]["201"]["links"]
            .as_object()
            .unwrap_or_else(|| panic!("{source}: no links"));
        let linked: BTreeSet<&str> = links
            .values()
            .map(|link| link["operationId"].as_str().unwrap())
            .collect();
        for target in targets {
            assert!(linked.contains(target), "{source} → {target} missing");
        }
        for (name, link) in links {
            let target = &operations[link["operationId"].as_str().unwrap()];
            for (parameter, value) in link["parameters"].as_object().unwrap() {
                assert!(
                    target["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == parameter.as_str()),
                    "{source}.{name}: {parameter} is no parameter of the target"
                );
                let field = value.as_str().unwrap();
                assert!(field.starts_with("$response.body#/"), "{source}.{name}");
            }
        }
    }
}
