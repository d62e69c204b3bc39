/** Types of `parse-prometheus-text-format`, which ships none. */
declare module "parse-prometheus-text-format" {
  const parse: (text: string) => ReadonlyArray<unknown>
  export default parse
}
