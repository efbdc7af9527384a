//! Loads the fixture documents and checks the routes, their regexes and the errors.

use std::path::PathBuf;

use routewall_core::{Converter, Route, RouteSource, RouteTable, Segment, SourceContext};
use routewall_openapi_source::OpenApiSource;

const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(name: &str) -> RouteTable {
    OpenApiSource
        .load(&SourceContext::new(name, fixtures()))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_err(name: &str) -> String {
    match OpenApiSource.load(&SourceContext::new(name, fixtures())) {
        Ok(table) => panic!("{name} loaded: {table:?}"),
        Err(e) => e.to_string(),
    }
}

fn inline_err(text: &str) -> String {
    match OpenApiSource.load_str("inline.yaml", text) {
        Ok(table) => panic!("loaded: {table:?}"),
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message}");
            message
        }
    }
}

/// `/v1/pets/<petId:[0-9]+>`: static text, and each parameter with its regex.
fn shape(route: &Route) -> String {
    route
        .segments
        .iter()
        .map(|s| match s {
            Segment::Static { text } => text.clone(),
            Segment::Param(p) => format!("<{}:{}>", p.name, p.converter.regex),
        })
        .collect()
}

/// Each route as (shape, methods, endpoint).
fn summary(table: &RouteTable) -> Vec<(String, String, String)> {
    table
        .routes
        .iter()
        .map(|r| {
            (
                shape(r),
                r.methods.as_ref().map(|m| m.join(" ")).unwrap_or_default(),
                r.endpoint.clone(),
            )
        })
        .collect()
}

fn converter<'t>(table: &'t RouteTable, rule: &str, param: &str) -> &'t Converter {
    let route = table
        .routes
        .iter()
        .find(|r| r.rule == rule)
        .unwrap_or_else(|| panic!("no route {rule}"));
    route
        .segments
        .iter()
        .find_map(|s| match s {
            Segment::Param(p) if p.name == param => Some(&p.converter),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no parameter {param} in {rule}"))
}

/// Every converter regex parses as the emitter parses it.
fn assert_regexes_parse(table: &RouteTable) {
    for route in &table.routes {
        for segment in &route.segments {
            if let Segment::Param(p) = segment {
                regex_syntax::ParserBuilder::new()
                    .utf8(true)
                    .unicode(true)
                    .build()
                    .parse(&p.converter.regex)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.converter.regex));
                assert!(p.converter.part_isolating && p.converter.class.is_none());
            }
        }
    }
}

/// The converter accepts every value of `good` and none of `bad`, as a full match.
fn assert_matches(conv: &Converter, good: &[&str], bad: &[&str]) {
    let re = regex::Regex::new(&format!("^(?:{})$", conv.regex)).expect("compiles");
    for value in good {
        assert!(re.is_match(value), "{} should accept {value:?}", conv.regex);
    }
    for value in bad {
        assert!(
            !re.is_match(value),
            "{} should refuse {value:?}",
            conv.regex
        );
    }
}

fn row(shape: &str, methods: &str, endpoint: &str) -> (String, String, String) {
    (shape.to_owned(), methods.to_owned(), endpoint.to_owned())
}

#[test]
fn petstore_yaml() {
    let table = load("petstore.yaml");
    assert_eq!(table.source, "openapi");
    assert_eq!(table.app, "petstore.yaml");
    assert_eq!(table.framework.as_deref(), Some("OpenAPI 3.0.3"));
    assert!(table.blocked_query_keys.is_empty());
    assert_eq!(
        summary(&table),
        vec![
            row("/v1/pets", "GET HEAD POST", "listPets,createPet"),
            row(
                "/v1/pets/<petId:[0-9]+|-0+>",
                "GET HEAD PUT",
                "showPetById,updatePet"
            ),
            row(&format!("/v1/pets/<petId:{UUID}>"), "DELETE", "deletePet"),
            row(
                "/v1/pets/<petId:[0-9]+|-0+>/photos/<photoId:[0-9]+|-0+>",
                "GET HEAD",
                "/pets/{petId}/photos/{photoId}"
            ),
            row(
                r"/v1/stores/<region:eu\-west|us\-east>/<code:[A-Z]{2}\-[0-9]{3}>",
                "GET HEAD",
                "getStore"
            ),
            row(
                r"/v1/files/<name:[^/]{1,64}>.<ext:png|jpg|tar\.gz>",
                "GET HEAD",
                "getFile,headFile"
            ),
            row("/v1/search/<term:[^/]+>", "GET HEAD", "search"),
            row("/health", "OPTIONS", "healthOptions"),
        ]
    );
    for route in &table.routes {
        assert!(route.strict_slashes);
        assert_eq!(route.automatic_options, Some(false));
        assert!(
            route.rule.starts_with("/v1/") || route.rule == "/health",
            "{}",
            route.rule
        );
    }
    assert_eq!(table.routes[1].rule, "/v1/pets/{petId}");
    assert_eq!(table.routes[5].rule, "/v1/files/{name}.{ext}");
    assert_regexes_parse(&table);

    let pet = converter(&table, "/v1/pets/{petId}", "petId");
    assert_eq!((pet.name.as_str(), pet.validates), ("integer", false));
    assert_eq!(pet.kwargs["minimum"], 0);
    assert_matches(pet, &["0", "42", "007"], &["-1", "1.5", "abc", "", "１"]);
    let uuid = &table.routes[2].segments[1];
    let Segment::Param(uuid) = uuid else {
        panic!("{uuid:?}")
    };
    assert_eq!(uuid.converter.name, "uuid");
    assert_matches(
        &uuid.converter,
        &[
            "123e4567-e89b-12d3-a456-426614174000",
            "123E4567-E89B-12D3-A456-426614174000",
        ],
        &[
            "123e4567e89b12d3a456426614174000",
            "123e4567-e89b-12d3-a456-42661417400g",
            "42",
        ],
    );
    let photo = converter(&table, "/v1/pets/{petId}/photos/{photoId}", "photoId");
    assert!(photo.validates, "minimum 1 is checked by the server");
    let region = converter(&table, "/v1/stores/{region}/{code}", "region");
    assert_eq!(region.name, "enum");
    assert_matches(
        region,
        &["eu-west", "us-east"],
        &["eu", "eu-westx", "EU-WEST"],
    );
    let code = converter(&table, "/v1/stores/{region}/{code}", "code");
    assert_eq!((code.name.as_str(), code.validates), ("string", false));
    assert_matches(
        code,
        &["AB-123"],
        &["ab-123", "AB-1234", "AB-١٢٣", "xAB-123"],
    );
    let name = converter(&table, "/v1/files/{name}.{ext}", "name");
    assert_matches(
        name,
        &["a", "résumé", &"x".repeat(64)],
        &["", &"x".repeat(65)],
    );
    let ext = converter(&table, "/v1/files/{name}.{ext}", "ext");
    assert_matches(ext, &["png", "tar.gz"], &["gif", "tarxgz"]);
    let term = converter(&table, "/v1/search/{term}", "term");
    assert_eq!(term.name, "string");
    assert_matches(term, &["anything goes"], &[""]);
}

#[test]
fn openapi_31_json() {
    let table = load("api31.json");
    assert_eq!(table.framework.as_deref(), Some("OpenAPI 3.1.0"));
    let number = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?";
    let unsigned_number = number.trim_start_matches("-?");
    assert_eq!(
        summary(&table),
        vec![
            row(
                "/api/users/<userId:[0-9]+|-0+>",
                "GET HEAD PATCH",
                "getUser,patchUser"
            ),
            row(
                &format!("/api/orders/<orderId:{UUID}>"),
                "GET HEAD",
                "getOrder"
            ),
            row(
                &format!(
                    r"/api/rates/<amount:{unsigned_number}|-(?:0+(?:\.0*)?|\.0+)(?:[eE][+-]?[0-9]+)?>"
                ),
                "GET HEAD",
                "/rates/{amount}"
            ),
            row("/api/flags/<on:true|false>", "PUT", "setFlag"),
            row("/api/tags/<tag:[^/]{2,20}>", "GET HEAD", "getTag"),
            row(
                "/api/items/<key:(?:[0-9]+|-0+)|(?:latest)>",
                "GET HEAD",
                "getItem"
            ),
            row("/api/", "GET HEAD", "root"),
        ],
        "webhooks are not routes"
    );
    assert_regexes_parse(&table);
    let user = converter(&table, "/api/users/{userId}", "userId");
    assert_eq!((user.name.as_str(), user.validates), ("integer", false));
    assert_matches(user, &["0", "12"], &["-1", "null", ""]);
    let amount = converter(&table, "/api/rates/{amount}", "amount");
    assert_eq!((amount.name.as_str(), amount.validates), ("number", false));
    assert_matches(
        amount,
        &["0", "1.5", ".5", "2.", "1e10", "3.2E-4"],
        &["-1", "e5", ".", "1e", "NaN", "+1"],
    );
    let signed = regex::Regex::new(&format!("^(?:{number})$")).expect("compiles");
    assert!(signed.is_match("-0.5") && !signed.is_match("--1"));
    let flag = converter(&table, "/api/flags/{on}", "on");
    assert_matches(flag, &["true", "false"], &["True", "1", "yes"]);
    let tag = converter(&table, "/api/tags/{tag}", "tag");
    assert_matches(
        tag,
        &["ab", "日本", &"t".repeat(20)],
        &["a", &"t".repeat(21)],
    );
    let key = converter(&table, "/api/items/{key}", "key");
    assert_eq!((key.name.as_str(), key.validates), ("anyOf", false));
    assert_matches(key, &["0", "17", "latest"], &["-1", "newest", "latest1"]);
}

#[test]
fn broken_documents_fail_with_one_line() {
    let err = load_err("broken/invalid.yaml");
    assert!(
        err.starts_with("cannot load `broken/invalid.yaml`: invalid YAML: "),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert_eq!(
        load_err("broken/external_ref.yaml"),
        "cannot load `broken/external_ref.yaml`: path `/items/{id}`: parameter `id`: `$ref` \
         `schemas.yaml#/components/schemas/Id` points outside the document; routewall reads \
         only local `#/…` references"
    );
    assert_eq!(
        load_err("broken/ref_cycle.yaml"),
        "cannot load `broken/ref_cycle.yaml`: path `/items/{id}`: parameter `id`: `$ref` cycle: \
         #/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A"
    );
    assert_eq!(
        load_err("broken/matrix.yaml"),
        "cannot load `broken/matrix.yaml`: path `/items/{id}`: parameter `id` has style \
         `matrix`, which routewall cannot express"
    );
    let err = load_err("broken/missing.yaml");
    assert!(
        err.starts_with("cannot load `broken/missing.yaml`: cannot read `"),
        "{err}"
    );
}

#[test]
fn absolute_paths_ignore_the_working_directory() {
    let path = fixtures().join("api31.json");
    let app = path.to_str().expect("utf-8 path");
    let table = OpenApiSource
        .load(&SourceContext::new(app, "/nonexistent"))
        .expect("loads");
    assert_eq!(table.app, app);
    assert_eq!(OpenApiSource.name(), "openapi");
}

/// A document with one path item `item` (YAML, indented for `paths`).
fn doc(header: &str, path: &str, item: &str) -> String {
    format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\n{header}paths:\n  '{path}':\n{item}")
}

const GET_ID: &str = "    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n";

#[test]
fn refusals_name_the_path_and_the_parameter() {
    let cases = [
        (
            doc(
                "",
                "/items/{id}",
                &format!("{GET_ID}          schema: {{type: array, items: {{type: string}}}}\n"),
            ),
            "path `/items/{id}`: parameter `id` has type `array`, which routewall cannot express",
        ),
        (
            doc(
                "",
                "/items/{id}",
                &format!(
                    "{GET_ID}          content: {{application/json: {{schema: {{type: object}}}}}}\n"
                ),
            ),
            "path `/items/{id}`: parameter `id` is described by `content` (a media type), which routewall cannot express",
        ),
        (
            doc(
                "",
                "/items/{id}",
                &format!("{GET_ID}          style: label\n"),
            ),
            "path `/items/{id}`: parameter `id` has style `label`, which routewall cannot express",
        ),
        (
            doc(
                "",
                "/items/{id}",
                &format!("{GET_ID}          schema: {{type: string, pattern: '\\bx'}}\n"),
            ),
            "path `/items/{id}`: parameter `id` has pattern `\\bx` that uses `\\b` (a word boundary), which routewall cannot express",
        ),
        (
            doc("", "items", "    get: {}\n"),
            "path `items` does not start with `/`",
        ),
        (
            doc("", "/items/{id", "    get: {}\n"),
            "path `/items/{id`: has a `{` without `}`",
        ),
        (
            doc("", "/items", "    GET: {}\n"),
            "path `/items` has unknown field `GET` (routewall cannot tell whether it is an operation)",
        ),
        (
            doc(
                "servers: [{url: 'https://h/{base}'}]\n",
                "/items",
                "    get: {}\n",
            ),
            "`servers`: server URL `https://h/{base}`: variable `base` has no `default`",
        ),
        (
            doc("servers: [{url: v1}]\n", "/items", "    get: {}\n"),
            "`servers`: server URL `v1` is relative to where the document is served, which routewall does not know",
        ),
        (
            doc(
                "",
                "/items/{id}",
                "    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n",
            ),
            "path `/items/{id}`: `get` `parameters` #1: `$ref` `#/components/parameters/Nope` points at nothing",
        ),
        (
            "swagger: '2.0'\npaths: {}\n".to_owned(),
            "Swagger 2.0 documents are not supported: convert it to OpenAPI 3 first",
        ),
        (
            "openapi: 3.2.0\npaths: {}\n".to_owned(),
            "OpenAPI 3.2.0 is not supported (3.0 and 3.1 are)",
        ),
        (
            "just text".to_owned(),
            "not an OpenAPI document: the top level is not a mapping",
        ),
        (
            "".to_owned(),
            "not an OpenAPI document: the top level is not a mapping",
        ),
        (
            "info: {}\n".to_owned(),
            "not an OpenAPI document: it has no `openapi` field",
        ),
    ];
    for (text, cause) in cases {
        assert_eq!(
            inline_err(&text),
            format!("cannot load `inline.yaml`: {cause}"),
            "{text}"
        );
    }
}

#[test]
fn servers_give_the_prefix() {
    let prefix = |servers: &str| {
        let text = doc(servers, "/x", "    get: {}\n");
        let table = OpenApiSource.load_str("s.yaml", &text).expect("loads");
        table.routes[0].rule.clone()
    };
    assert_eq!(prefix(""), "/x");
    assert_eq!(prefix("servers: []\n"), "/x");
    assert_eq!(prefix("servers: [{url: /}]\n"), "/x");
    assert_eq!(prefix("servers: [{url: 'http://localhost:8080'}]\n"), "/x");
    assert_eq!(
        prefix("servers: [{url: '//cdn.example.com/a/b/'}]\n"),
        "/a/b/x"
    );
    assert_eq!(
        prefix("servers: [{url: 'https://h.example/api?x=1'}]\n"),
        "/api/x"
    );
    assert_eq!(
        prefix(
            "servers: [{url: '{scheme}://h/{v}', variables: {scheme: {default: https}, v: {default: v2}}}]\n"
        ),
        "/v2/x"
    );
}

#[test]
fn operation_servers_and_explicit_head() {
    let text = doc(
        "servers: [{url: /api}]\n",
        "/x",
        "    get: {operationId: a}\n    head: {operationId: b, servers: [{url: /other}]}\n",
    );
    let table = OpenApiSource.load_str("s.yaml", &text).expect("loads");
    assert_eq!(
        summary(&table),
        vec![row("/api/x", "GET HEAD", "a"), row("/other/x", "HEAD", "b")]
    );
}

#[test]
fn path_without_operations_has_no_route() {
    let text = doc(
        "",
        "/x/{id}",
        "    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n",
    );
    let table = OpenApiSource.load_str("s.yaml", &text).expect("loads");
    assert!(table.routes.is_empty());
}

#[test]
fn hostile_documents_fail_cleanly() {
    let deep_json = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert!(inline_err(&deep_json).contains("invalid JSON"));
    let deep_yaml = format!("openapi: 3.0.3\nx: {}", "[".repeat(10_000));
    assert!(inline_err(&deep_yaml).contains("invalid YAML"));
    let laughs = "openapi: 3.0.3\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    assert!(inline_err(laughs).contains("invalid YAML"));
    // A chain of 100 schemas, each referring to the next.
    let mut schemas = String::new();
    for i in 0..100 {
        schemas.push_str(&format!(
            "    S{i}: {{$ref: '#/components/schemas/S{}'}}\n",
            i + 1
        ));
    }
    schemas.push_str("    S100: {type: integer}\n");
    let text = format!(
        "{}components:\n  schemas:\n{schemas}",
        doc(
            "",
            "/x/{id}",
            &format!("{GET_ID}          schema: {{$ref: '#/components/schemas/S0'}}\n")
        )
    );
    assert!(
        inline_err(&text).contains("nested too deeply"),
        "{}",
        inline_err(&text)
    );
}

#[test]
fn unquoted_version_numbers() {
    let table = OpenApiSource
        .load_str("v.yaml", "openapi: 3.0\npaths:\n  /x:\n    get: {}\n")
        .expect("loads");
    assert_eq!(table.framework.as_deref(), Some("OpenAPI 3.0"));
    assert_eq!(summary(&table), vec![row("/x", "GET HEAD", "/x")]);
    let table = OpenApiSource
        .load_str("v.yaml", "openapi: 3.1\n")
        .expect("loads");
    assert!(table.routes.is_empty());
}
