/// Every F# block of the docs is compiled test code: it appears, verbatim up to its indentation, between
/// `// --- <doc>: <name> ---` and `// --- end ---` in this project's sources; and every such region is shown in its doc.
/// A block edited in one place and not the other fails here.
module Fusion.FSharp.Tests.DocsInSyncTests

open System
open System.IO
open System.Text.RegularExpressions
open Xunit
open Fusion.FSharp.Tests.Support

/// The docs and the label their regions carry.
let docs =
    [ "README.md", "README"
      "docs/fsharp.md", "docs/fsharp.md"
      "src/FusionCache.FSharp/PACKAGE.md", "src/FusionCache.FSharp/PACKAGE.md" ]

/// The lines without trailing spaces, leading and trailing blank lines, or the indentation they share.
let dedent (lines: string list) =
    let lines = lines |> List.map (fun l -> l.TrimEnd())
    let lines = lines |> List.skipWhile String.IsNullOrEmpty |> List.rev |> List.skipWhile String.IsNullOrEmpty |> List.rev
    let indent =
        lines |> List.filter (String.IsNullOrEmpty >> not) |> List.map (fun l -> l.Length - l.TrimStart().Length)
        |> function [] -> 0 | indents -> List.min indents
    lines |> List.map (fun l -> if l.Length >= indent then l.Substring indent else l) |> String.concat "\n"

let private linesOf (path: string) = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n') |> List.ofArray

/// The ```fsharp blocks of a markdown file.
let blocks (markdown: string list) =
    let rec go acc (lines: string list) =
        match lines with
        | [] -> List.rev acc
        | line :: rest when line.Trim() = "```fsharp" ->
            let body = rest |> List.takeWhile (fun l -> l.Trim() <> "```")
            go (dedent body :: acc) (List.skip (body.Length + 1 |> min rest.Length) rest)
        | _ :: rest -> go acc rest
    go [] markdown

let private marker = Regex(@"^\s*// --- (?<label>[^:]+): (?<name>.+) ---$")

/// The marked regions of a source file: (label, name, text).
let regions (source: string list) =
    let rec go acc (lines: string list) =
        match lines with
        | [] -> List.rev acc
        | line :: rest when marker.IsMatch line ->
            let m = marker.Match line
            let body = rest |> List.takeWhile (fun l -> l.Trim() <> "// --- end ---")
            Assert.True(body.Length < rest.Length, $"the region '{line.Trim()}' has no '// --- end ---'")
            go ((m.Groups["label"].Value, m.Groups["name"].Value, dedent body) :: acc) (List.skip (body.Length + 1) rest)
        | _ :: rest -> go acc rest
    go [] source

let private allRegions () =
    Directory.GetFiles(Path.Combine(repositoryRoot (), "tests", "FSharp"), "*.fs")
    |> Seq.collect (linesOf >> regions)
    |> List.ofSeq

let docNames () = docs |> List.map (fun (path, label) -> [| box path; box label |]) |> Array.ofList

[<Theory; MemberData(nameof docNames)>]
let ``every F# block of the doc is compiled test code`` (path: string, label: string) =
    let shown = blocks (linesOf (Path.Combine(repositoryRoot (), path)))
    Assert.NotEmpty(shown)
    let compiled = allRegions () |> List.filter (fun (l, _, _) -> l = label) |> List.map (fun (_, _, text) -> text)
    for block in shown do
        Assert.True(List.contains block compiled,
            $"this block of {path} is not between '// --- {label}: <name> ---' and '// --- end ---' in tests/FSharp (as it is, up to indentation):\n{block}")

[<Theory; MemberData(nameof docNames)>]
let ``every marked region is shown in its doc`` (path: string, label: string) =
    let shown = blocks (linesOf (Path.Combine(repositoryRoot (), path)))
    for (_, name, text) in allRegions () |> List.filter (fun (l, _, _) -> l = label) do
        Assert.True(List.contains text shown, $"the region '{label}: {name}' in tests/FSharp is not a ```fsharp block of {path} (as it is):\n{text}")

[<Fact>]
let ``every region's label names a doc`` () =
    let labels = docs |> List.map snd
    let known = String.Join(", ", labels)
    for (label, name, _) in allRegions () do
        Assert.True(List.contains label labels, $"the region '{label}: {name}' names no doc ({known})")
