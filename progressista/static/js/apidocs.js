/**
 * The API docs page (`/docs`): every operation of `openapi.json`, drawn here
 * from the schema, with nothing fetched but this server (no CDN, so the docs
 * work offline and on an air-gapped cluster).
 *
 * For each operation: method and path, summary and description, the token
 * role it needs, parameters, request body and responses, their schemas as
 * field lists; then the named schemas (`components.schemas`). Every piece of
 * schema text goes in with `textContent`: nothing here parses HTML.
 *
 * @module apidocs
 */

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
const MAX_DEPTH = 5; // nested inline objects drawn this deep; named schemas are links, never expanded

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined && content !== null) node.textContent = String(content);
  return node;
}

const anchorOf = (method, path) => `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
const schemaAnchor = (name) => `schema-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
const refName = (ref) => decodeURIComponent(String(ref).split("/").pop().replace(/~1/g, "/").replace(/~0/g, "~"));

/** A schema's type as a line of nodes: "string", "array of Task" (a link), "integer | null"… */
function typeNodes(schema) {
  if (!schema || typeof schema !== "object") return [document.createTextNode("any")];
  if (schema.$ref) {
    const name = refName(schema.$ref);
    const link = el("a", "ref", name);
    link.href = "#" + schemaAnchor(name);
    return [link];
  }
  const union = schema.anyOf || schema.oneOf;
  if (Array.isArray(union)) {
    const nodes = [];
    union.forEach((part, i) => {
      if (i) nodes.push(document.createTextNode(" | "));
      nodes.push(...typeNodes(part));
    });
    return nodes;
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return typeNodes(schema.allOf[0]);
  if (Array.isArray(schema.enum)) return [document.createTextNode(schema.enum.map((v) => JSON.stringify(v)).join(" | "))];
  if (Object.hasOwn(schema, "const")) return [document.createTextNode(JSON.stringify(schema.const))];
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array") return [document.createTextNode("array of "), ...typeNodes(schema.items)];
  if (type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object"
      && !schema.properties) {
    return [document.createTextNode("object of "), ...typeNodes(schema.additionalProperties)];
  }
  return [document.createTextNode(type || "any")];
}

/** The inline object schema that `schema` holds, if any (an array's items, a union's object part). */
function objectOf(schema) {
  if (!schema || typeof schema !== "object" || schema.$ref) return null;
  if (schema.properties) return schema;
  if (schema.items) return objectOf(schema.items);
  const union = schema.anyOf || schema.oneOf || schema.allOf;
  if (Array.isArray(union)) return union.map(objectOf).find(Boolean) || null;
  return null;
}

/** A schema as a type line and, for an inline object, a list of its fields (nested, to MAX_DEPTH). */
function schemaBlock(schema, depth = 0) {
  const block = el("div", "schema");
  const line = el("div", "type");
  line.append(...typeNodes(schema));
  block.append(line);
  const object = objectOf(schema);
  if (object && depth < MAX_DEPTH) block.append(fields(object, depth));
  return block;
}

function fields(object, depth) {
  const required = new Set(Array.isArray(object.required) ? object.required : []);
  const list = el("ul", "fields");
  for (const [name, field] of Object.entries(object.properties || {})) {
    const item = el("li");
    const head = el("div", "field");
    head.append(el("code", "name", name), el("span", "sep", " "));
    head.append(...typeNodes(field));
    if (required.has(name)) head.append(el("span", "required", " required"));
    item.append(head);
    const about = field && (field.description || field.title);
    if (about) item.append(el("p", "about", about));
    const inner = objectOf(field);
    if (inner && depth + 1 < MAX_DEPTH) item.append(fields(inner, depth + 1));
    list.append(item);
  }
  return list;
}

function contentBlocks(content) {
  const blocks = [];
  for (const [type, media] of Object.entries(content || {})) {
    const block = el("div", "media");
    block.append(el("div", "media-type", type));
    if (media && media.schema) block.append(schemaBlock(media.schema));
    blocks.push(block);
  }
  return blocks;
}

function parameters(list) {
  const table = el("table", "params");
  const head = el("tr");
  for (const title of ["Name", "In", "Type", "Description"]) head.append(el("th", "", title));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const param of list) {
    const row = el("tr");
    const name = el("td");
    name.append(el("code", "name", param.name));
    if (param.required) name.append(el("span", "required", " required"));
    const type = el("td", "type");
    type.append(...typeNodes(param.schema));
    row.append(name, el("td", "", param.in), type, el("td", "", param.description || param.schema?.description || ""));
    body.append(row);
  }
  table.append(body);
  return table;
}

function section(title, ...content) {
  const part = el("section", "part");
  part.append(el("h4", "", title), ...content);
  return part;
}

function operation(method, path, op) {
  const article = el("article", "op");
  article.id = anchorOf(method, path);
  article.dataset.method = method;
  const heading = el("h3", "op-head");
  heading.append(el("span", "method", method.toUpperCase()), document.createTextNode(" "), el("code", "path", path));
  article.append(heading);
  if (op.summary) article.append(el("p", "summary", op.summary));
  if (op.description) article.append(el("p", "description", op.description));
  if (op.deprecated) article.append(el("p", "deprecated", "Deprecated."));
  if (Array.isArray(op.parameters) && op.parameters.length) article.append(section("Parameters", parameters(op.parameters)));
  const body = op.requestBody;
  if (body) {
    const said = [el("p", "about", (body.required ? "Required. " : "") + (body.description || ""))];
    article.append(section("Request body", ...said, ...contentBlocks(body.content)));
  }
  const responses = el("dl", "responses");
  for (const [code, response] of Object.entries(op.responses || {})) {
    const term = el("dt", "code", code);
    term.dataset.code = code.charAt(0);
    const detail = el("dd");
    detail.append(el("p", "about", response.description || ""), ...contentBlocks(response.content));
    responses.append(term, detail);
  }
  if (responses.childElementCount) article.append(section("Responses", responses));
  return article;
}

function render(spec) {
  const info = spec.info || {};
  document.title = `${info.title || "API"} ${info.version || ""} — API docs`.replace(/\s+—/, " —");
  const head = document.getElementById("head");
  head.replaceChildren(el("h1", "", info.title || "API"));
  const meta = el("p", "meta", [info.version && `version ${info.version}`, spec.openapi && `OpenAPI ${spec.openapi}`]
    .filter(Boolean).join(" · "));
  const raw = el("a", "", "openapi.json");
  raw.href = "openapi.json";
  meta.append(document.createTextNode(" · "), raw);
  head.append(meta);
  if (info.summary) head.append(el("p", "summary", info.summary));
  if (info.description) head.append(el("p", "description", info.description));

  const index = el("ul", "index");
  const ops = el("div", "ops");
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = item && item[method];
      if (!op) continue;
      const link = el("a");
      link.href = "#" + anchorOf(method, path);
      link.append(el("span", "method", method.toUpperCase()), document.createTextNode(" "), el("code", "", path));
      const entry = el("li");
      entry.dataset.method = method;
      entry.append(link);
      if (op.summary) entry.append(el("span", "index-summary", op.summary));
      index.append(entry);
      ops.append(operation(method, path, op));
    }
  }
  const schemas = el("div", "schemas");
  for (const [name, schema] of Object.entries(spec.components?.schemas || {})) {
    const block = el("article", "named-schema");
    block.id = schemaAnchor(name);
    block.append(el("h3", "", name));
    if (schema && schema.description) block.append(el("p", "description", schema.description));
    block.append(schemaBlock(schema));
    schemas.append(block);
  }
  const main = document.getElementById("docs");
  main.replaceChildren(
    el("h2", "", "Operations"), index, ops,
    ...(schemas.childElementCount ? [el("h2", "", "Schemas"), schemas] : []),
  );
  main.setAttribute("aria-busy", "false");
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

async function load() {
  const main = document.getElementById("docs");
  try {
    const response = await fetch("openapi.json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (err) {
    main.replaceChildren(el("p", "failure", `Could not load openapi.json: ${err.message || err}`));
    main.setAttribute("aria-busy", "false");
  }
}

load();
