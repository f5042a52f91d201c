// Files imported as text or as embedded files (`with { type: "text" | "file" }`), so that
// `bun build --compile` carries migrations and web assets inside the executable.
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.html" {
  const path: string;
  export default path;
}
