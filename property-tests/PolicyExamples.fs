/// Properties a user writes with the simulator: a cache policy checked against generated outages and arrival
/// patterns. The code between the `docs/simulator.md` markers is the code of that page, verbatim (a test below
/// checks it), so every example there compiles and runs.
module Fusion.PropertyTests.PolicyExamples

open System
open System.IO
open System.Text.RegularExpressions
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

// --- docs/simulator.md: example ---
open System
open Fusion.Core
open Fusion.Simulation

let seconds (s: float) = TimeSpan.FromSeconds s

let policy =
    { EntryOptions.Default with
        Duration = seconds 60.0
        IsFailSafeEnabled = true
        FailSafeMaxDuration = TimeSpan.FromHours 1.0
        FailSafeThrottleDuration = seconds 30.0
        FactorySoftTimeout = TimeSpan.FromMilliseconds 100.0 }

// The source answers in 500 ms, and is down (fails at once) from 70 s to 150 s.
let product = Source.returns (TimeSpan.FromMilliseconds 500.0) |> Source.downDuring (seconds 70.0) (seconds 150.0)

let example =
    Script.create policy
    |> Script.withSource "product" product
    |> Script.at (seconds 0.0) (Request.get "product")
    |> Script.at (seconds 0.2) (Request.get "product")
    |> Script.at (seconds 75.0) (Request.get "product")
    |> Script.at (seconds 90.0) (Request.get "product")
    |> Script.at (seconds 110.0) (Request.get "product")
    |> Script.at (seconds 160.0) (Request.get "product")
    |> Script.at (seconds 160.05) (Request.get "product")
    |> Script.at (seconds 161.0) (Request.get "product")

let result = Simulator.run example
// --- end ---

// --- docs/simulator.md: print ---
let show (answer: Answer) =
    match answer with
    | Answer.Got(value, isStale) -> if isStale then $"{value} (stale)" else $"{value}"
    | Answer.Failed error -> $"error: {error.Message}"
    | Answer.Found value -> $"found {value}"
    | Answer.Done -> "done"

let report (result: SimulationResult) =
    [ for a in result.Answers ->
          $"{a.At.TotalSeconds, 8:F2} s  {a.Request.Key, -8} answered at {a.AnsweredAt.TotalSeconds, 7:F2} s: {show a.Answer}"
      for c in result.SourceCalls ->
          $"source call {c.Number} at {c.At.TotalSeconds:F2} s: %A{c.Response}" ]
    |> String.concat "\n"
// --- end ---

// --- docs/simulator.md: outage ---
/// The policy under test.
let failSafe =
    { EntryOptions.Default with
        Duration = TimeSpan.FromMinutes 1.0
        IsFailSafeEnabled = true
        FailSafeMaxDuration = TimeSpan.FromHours 1.0
        FailSafeThrottleDuration = TimeSpan.FromSeconds 30.0 }

/// An outage of less than 10 minutes starting in the first 30, and callers at any second of the first 40.
let outages =
    gen {
        let! start = Gen.choose (0, 30 * 60)
        let! length = Gen.choose (0, 10 * 60 - 1)
        let! arrivals = Gen.listOf (Gen.choose (0, 40 * 60))
        return seconds (float start), seconds (float length), List.map (float >> seconds) arrivals
    }

/// Once a caller got the value, no later caller gets an error.
let noErrorOnceLoaded (options: EntryOptions) (start: TimeSpan, length: TimeSpan, arrivals: TimeSpan list) =
    let source = Source.returns (TimeSpan.FromMilliseconds 200.0) |> Source.downDuring start (start + length)
    let script =
        arrivals
        |> List.sort
        |> List.fold (fun s at -> s |> Script.at at (Request.get "product")) (Script.create options |> Script.withSource "product" source)
    let answers = (Simulator.run script).Answers
    let got (a: Answered) = match a.Answer with Answer.Got _ -> true | _ -> false
    match List.tryFindIndex got answers with
    | Some loaded -> answers |> List.skip loaded |> List.forall got
    | None -> true

[<Property>]
let ``an outage shorter than 10 minutes never surfaces an error once the key is loaded`` () =
    Prop.forAll (Arb.fromGen outages) (noErrorOnceLoaded failSafe)

[<Fact>]
let ``without fail-safe, an outage does surface an error`` () =
    let failSafeOff = { failSafe with IsFailSafeEnabled = false }
    let counterexample =
        try
            Check.One(Config.QuickThrowOnFailure, Prop.forAll (Arb.fromGen outages) (noErrorOnceLoaded failSafeOff))
            false
        with _ -> true
    Assert.True(counterexample, "FsCheck found no outage that surfaces an error")
// --- end ---

// --- docs/simulator.md: throttle ---
/// During a 20-minute outage, the source is asked at most once per `window`, however many callers come.
let atMostOneCallPer (window: TimeSpan) (options: EntryOptions) (arrivals: float list) =
    let outageStart, outageEnd = TimeSpan.FromMinutes 5.0, TimeSpan.FromMinutes 25.0
    let source = Source.returns (TimeSpan.FromMilliseconds 200.0) |> Source.downDuring outageStart outageEnd
    let script =
        (0.0 :: arrivals)
        |> List.sort
        |> List.fold (fun s at -> s |> Script.at (seconds at) (Request.get "product")) (Script.create options |> Script.withSource "product" source)
    let during = (Simulator.run script).CallsTo "product" |> List.filter (fun c -> c.At >= outageStart && c.At < outageEnd)
    during |> List.pairwise |> List.forall (fun (a, b) -> b.At - a.At >= window)

/// Callers at random instants (in seconds, to the millisecond) of the first 30 minutes, many of them.
let crowd = Gen.listOf (Gen.choose (0, 30 * 60 * 1000) |> Gen.map (fun ms -> float ms / 1000.0)) |> Gen.scaleSize (fun n -> 10 * n)

[<Property>]
let ``the source sees at most one call per throttle window during an outage`` () =
    Prop.forAll (Arb.fromGen crowd) (atMostOneCallPer (TimeSpan.FromSeconds 30.0) failSafe)

[<Fact>]
let ``a throttle of 1 s lets the crowd through`` () =
    let shortThrottle = { failSafe with FailSafeThrottleDuration = TimeSpan.FromSeconds 1.0 }
    let counterexample =
        try
            Check.One(Config.QuickThrowOnFailure, Prop.forAll (Arb.fromGen crowd) (atMostOneCallPer (TimeSpan.FromSeconds 30.0) shortThrottle))
            false
        with _ -> true
    Assert.True(counterexample, "FsCheck found no crowd that calls the source twice in 30 s")
// --- end ---

// --- docs/simulator.md: stampede ---
/// 1,000 callers of a cold key, all arriving while the source's first call runs (it takes 10 ms to 5 s).
let stampedes =
    gen {
        let! latency = Gen.choose (10, 5_000)
        let! arrivals = Gen.listOfLength 1_000 (Gen.choose (0, latency - 1))
        return TimeSpan.FromMilliseconds(float latency), arrivals |> List.sort |> List.map (fun ms -> TimeSpan.FromMilliseconds(float ms))
    }

[<Property(MaxTest = 30)>]
let ``1,000 concurrent callers cause one source call`` () =
    Prop.forAll (Arb.fromGen stampedes) (fun (latency, arrivals) ->
        let script =
            arrivals
            |> List.fold (fun s at -> s |> Script.at at (Request.get "product")) (Script.create EntryOptions.Default |> Script.withSource "product" (Source.returns latency))
        let result = Simulator.run script
        result.SourceCalls.Length = 1 && result.Answers |> List.forall (fun a -> a.Answer = Answer.Got(1, false)))
// --- end ---

/// The simulator is a pure function: the same script, the same result.
[<Fact>]
let ``the same script gives the same result`` () =
    let again = Simulator.run example
    Assert.Equal(report result, report again)
    let seeded = { example with Options = { policy with JitterMaxDuration = seconds 5.0 }; Jitter = Jitter.Seeded 7 }
    Assert.Equal(report (Simulator.run seeded), report (Simulator.run seeded))

/// The worked example's timeline, as the docs tell it.
[<Fact>]
let ``the worked example does what the docs say`` () =
    let answers = result.Answers |> List.map (fun a -> a.Answer, a.AnsweredAt.TotalSeconds)
    Assert.Equal<(Answer * float) list>(
        [ Answer.Got(1, false), 0.5
          Answer.Got(1, false), 0.5
          Answer.Got(1, true), 75.0
          Answer.Got(1, true), 90.0
          Answer.Got(1, true), 110.0
          Answer.Got(1, true), 160.1
          Answer.Got(1, true), 160.15
          Answer.Got(4, false), 161.0 ],
        answers)
    Assert.Equal(4, result.SourceCalls.Length)

let private repositoryRoot () =
    let mutable dir = DirectoryInfo(AppContext.BaseDirectory)
    while not (isNull dir) && not (File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) do
        dir <- dir.Parent
    if isNull dir then failwith "Fusion.sln not found" else dir.FullName

/// Trims the indentation every non-blank line shares, and the blank lines around.
let private dedent (text: string) =
    let lines = text.Replace("\r\n", "\n").Split('\n')
    let indent =
        lines |> Array.filter (fun l -> l.Trim() <> "") |> Array.map (fun l -> l.Length - l.TrimStart().Length)
        |> fun a -> if a.Length = 0 then 0 else Array.min a
    lines |> Array.map (fun l -> if l.Length >= indent then l.Substring indent else l.TrimStart()) |> String.concat "\n" |> fun s -> s.Trim('\n')

/// The code between the markers of every property-tests source, by name.
let private marked () =
    let root = repositoryRoot ()
    let marker = Regex(@"// --- docs/simulator\.md: (?<name>[^-]+?) ---\r?\n(?<code>.*?)// --- end ---", RegexOptions.Singleline)
    [ for file in Directory.GetFiles(Path.Combine(root, "property-tests"), "*.fs") do
          for m in marker.Matches(File.ReadAllText file) -> m.Groups["name"].Value, dedent m.Groups["code"].Value ]

[<Fact>]
let ``every F# block of docs/simulator.md is compiled code of the tests`` () =
    let page = File.ReadAllText(Path.Combine(repositoryRoot (), "docs", "simulator.md"))
    let blocks = Regex.Matches(page, @"```fsharp\r?\n(?<code>.*?)```", RegexOptions.Singleline) |> Seq.map (fun m -> dedent m.Groups["code"].Value) |> Seq.toList
    let sections = marked ()
    Assert.NotEmpty blocks
    for block in blocks do
        Assert.True(sections |> List.exists (fun (_, code) -> code.Contains block), $"not between `// --- docs/simulator.md: ... ---` markers in property-tests:\n{block}")

[<Fact>]
let ``the output shown in docs/simulator.md is the worked example's`` () =
    let page = File.ReadAllText(Path.Combine(repositoryRoot (), "docs", "simulator.md")).Replace("\r\n", "\n")
    let shown = Regex.Match(page, @"<!-- output of the example -->\n```text\n(?<text>.*?)```", RegexOptions.Singleline)
    Assert.True(shown.Success, "docs/simulator.md has no output block after <!-- output of the example -->")
    Assert.Equal(report result, shown.Groups["text"].Value.TrimEnd('\n'))
