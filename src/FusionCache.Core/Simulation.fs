namespace Fusion.Simulation

open System
open System.Collections.Generic
open System.Threading
open Fusion
open Fusion.Core

/// What one call of a key's source does: it answers after `Latency` of virtual time (zero: at once, as a
/// factory whose task is already complete).
[<RequireQualifiedAccess; NoComparison>]
type SourceResponse =
    /// Returns a value after `Latency`. The value is the call's number among the calls of the key's source (1 for
    /// the first), so an answer tells which call produced it.
    | Returns of Latency: TimeSpan
    /// Returns `Left(Err.Of Message)` after `Latency`.
    | Fails of Latency: TimeSpan * Message: string
    /// Throws an exception with `Message` after `Latency` (the cache turns it into `Err.FactoryFailed`).
    | Throws of Latency: TimeSpan * Message: string

    /// How long the call takes.
    member r.Latency: TimeSpan =
        match r with
        | Returns l
        | Fails(l, _)
        | Throws(l, _) -> l

/// A window of virtual time, from `From` (included) to `Until` (excluded), in which the calls of a source that
/// begin do what `Response` says.
[<NoComparison>]
type SourceWindow =
    { From: TimeSpan
      Until: TimeSpan
      Response: SourceResponse }

/// A key's source over virtual time: a call that begins at `t` does what the first window holding `t` says, else
/// what `Normally` says. What a call does is decided when it begins; a running call is never changed by a window.
[<NoComparison>]
type Source =
    { Normally: SourceResponse
      Windows: SourceWindow list }

/// Building sources.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Source =
    /// A source that always returns a value after `latency`.
    [<CompiledName("Returns")>]
    let returns (latency: TimeSpan) : Source = { Normally = SourceResponse.Returns latency; Windows = [] }

    /// A source that always fails (`Left`) after `latency`.
    [<CompiledName("Fails")>]
    let fails (latency: TimeSpan) : Source = { Normally = SourceResponse.Fails(latency, "source down"); Windows = [] }

    /// `source`, except that calls beginning in [`from`, `until`) do what `response` says (windows added earlier win
    /// where they overlap).
    [<CompiledName("During")>]
    let during (from: TimeSpan) (until: TimeSpan) (response: SourceResponse) (source: Source) : Source =
        { source with Windows = source.Windows @ [ { From = from; Until = until; Response = response } ] }

    /// `source`, down in [`from`, `until`): calls beginning then fail at once with "source down".
    [<CompiledName("DownDuring")>]
    let downDuring (from: TimeSpan) (until: TimeSpan) (source: Source) : Source =
        during from until (SourceResponse.Fails(TimeSpan.Zero, "source down")) source

    /// What a call beginning at `time` does.
    [<CompiledName("ResponseAt")>]
    let responseAt (time: TimeSpan) (source: Source) : SourceResponse =
        match source.Windows |> List.tryFind (fun w -> w.From <= time && time < w.Until) with
        | Some w -> w.Response
        | None -> source.Normally

/// One request to the simulated cache. Options, where given, replace the script's options for this call (all of
/// them: copy the script's with `{ options with ... }`).
[<RequireQualifiedAccess; NoComparison>]
type Request =
    /// `GetOrSet(key, source)`, with this call's options and its fail-safe default value, if any.
    | GetOrSet of Key: string * Options: EntryOptions option * FailSafeDefault: int option
    /// `Set(key, value)`.
    | Set of Key: string * Value: int * Options: EntryOptions option
    /// `Remove(key)`.
    | Remove of Key: string
    /// `Expire(key)`.
    | Expire of Key: string
    /// `TryGet(key)`: never calls the source.
    | TryGet of Key: string * Options: EntryOptions option

    /// The key the request is about.
    member r.Key: string =
        match r with
        | GetOrSet(k, _, _)
        | Set(k, _, _)
        | Remove k
        | Expire k
        | TryGet(k, _) -> k

/// Building requests.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Request =
    /// `GetOrSet(key)` with the script's options.
    [<CompiledName("Get")>]
    let get (key: string) : Request = Request.GetOrSet(key, None, None)

    /// `GetOrSet(key)` with `options`.
    [<CompiledName("GetWith")>]
    let getWith (options: EntryOptions) (key: string) : Request = Request.GetOrSet(key, Some options, None)

/// A request and when it arrives, in virtual time since the start of the simulation.
[<NoComparison>]
type Scheduled = { At: TimeSpan; Request: Request }

/// How the simulator draws the jitter of a write (`JitterMaxDuration`), which the cache draws at random.
[<RequireQualifiedAccess>]
type Jitter =
    /// Always 0.
    | Zero
    /// Always the largest value, `JitterMaxDuration` less one tick.
    | Largest
    /// Drawn in [0, JitterMaxDuration) by `System.Random(Seed)`: the same seed, the same draws.
    | Seeded of Seed: int

/// What to simulate: the cache-wide options, the sources, the requests and how jitter is drawn.
[<NoComparison>]
type Script =
    { /// The cache-wide entry options (a request may bring its own).
      Options: EntryOptions
      /// The source of each key; a key not listed uses `DefaultSource`.
      Sources: Map<string, Source>
      /// The source of every key not in `Sources`.
      DefaultSource: Source
      /// The requests, in any order: they arrive by time, those arriving at the same instant in list order.
      Requests: Scheduled list
      /// How jitter is drawn.
      Jitter: Jitter }

/// Building scripts (each function returns a new script).
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Script =
    /// A script with `options`, no request, and sources that return a value at once.
    [<CompiledName("Create")>]
    let create (options: EntryOptions) : Script =
        { Options = options; Sources = Map.empty; DefaultSource = Source.returns TimeSpan.Zero; Requests = []; Jitter = Jitter.Zero }

    /// `script` with `source` for `key`.
    [<CompiledName("WithSource")>]
    let withSource (key: string) (source: Source) (script: Script) : Script =
        { script with Sources = Map.add key source script.Sources }

    /// `script` with `source` for every key that has none of its own.
    [<CompiledName("WithDefaultSource")>]
    let withDefaultSource (source: Source) (script: Script) : Script = { script with DefaultSource = source }

    /// `script` with `request` arriving at `at` (after the requests already there that arrive at the same instant).
    [<CompiledName("At")>]
    let at (at: TimeSpan) (request: Request) (script: Script) : Script =
        { script with Requests = script.Requests @ [ { At = at; Request = request } ] }

    /// `script` with jitter drawn as `jitter` says.
    [<CompiledName("WithJitter")>]
    let withJitter (jitter: Jitter) (script: Script) : Script = { script with Jitter = jitter }

/// What a request was answered.
[<RequireQualifiedAccess; NoComparison>]
type Answer =
    /// `GetOrSet` returned `Right Value`; `IsStale` when it was served by fail-safe.
    | Got of Value: int * IsStale: bool
    /// `GetOrSet` returned `Left Error`.
    | Failed of Error: Err
    /// `TryGet` returned this (`None` for nothing).
    | Found of Value: int option
    /// `Set`, `Remove` or `Expire` completed.
    | Done

/// One request and its answer.
[<NoComparison>]
type Answered =
    { /// The request's position in `Script.Requests`.
      Index: int
      Request: Request
      /// When it arrived.
      At: TimeSpan
      /// When it was answered (`At`, or later when it waited for the source).
      AnsweredAt: TimeSpan
      Answer: Answer }

    /// How long the caller waited.
    member a.Waited: TimeSpan = a.AnsweredAt - a.At

/// One call of a key's source.
[<NoComparison>]
type SourceCall =
    { Key: string
      /// 1 for the key's first call: the value it returns, if it returns one.
      Number: int
      /// When it began.
      At: TimeSpan
      /// What it did.
      Response: SourceResponse
      /// Whether an eager refresh made it (no caller waited for it to begin).
      IsRefresh: bool }

/// What a simulation gives: every request's answer (in the order of `Script.Requests`) and every call of the
/// sources (in the order they began).
[<NoComparison>]
type SimulationResult =
    { Answers: Answered list
      SourceCalls: SourceCall list }

    /// The calls of `key`'s source.
    member r.CallsTo(key: string) : SourceCall list = r.SourceCalls |> List.filter (fun c -> c.Key = key)

    /// The answer to the request at `index` in `Script.Requests`.
    member r.AnswerTo(index: int) : Answer = (r.Answers |> List.find (fun a -> a.Index = index)).Answer

/// The state of the simulated node after one event (for the runtime agreement test).
[<NoComparison; NoEquality>]
type internal Snapshot =
    { Time: TimeSpan
      /// The request that arrived, when the event was an arrival.
      Arrival: int voption
      /// Flights in the flight table.
      InFlight: int
      Entries: Map<string, Entry>
      Calls: int
      /// Timers started so far (a source's latency, a caller's wait, a refresh's deadline): one per runtime timer.
      Timers: int
      Answered: Set<int> }

/// A waiter on a flight: a caller, with its own options and default.
[<NoComparison; NoEquality>]
type internal SimWaiter =
    { Index: int
      Options: EntryOptions
      Default: obj voption
      mutable Done: bool }

/// A flight, as the runtime's `Flight` keeps it.
[<NoComparison; NoEquality>]
type internal SimFlight =
    { Key: string
      Options: EntryOptions
      Default: obj voption
      IsRefresh: bool
      /// The factory is cancelled when the last waiter leaves (`Flight._cancelWhenAbandoned`).
      CancelWhenAbandoned: bool
      mutable StartedAt: int64
      /// Counted waiters; `-1` once abandoned (closed).
      mutable Waiters: int
      mutable Superseded: bool
      mutable Ended: bool
      mutable Run: FactoryRun voption
      Joined: List<SimWaiter> }

[<NoComparison; NoEquality>]
type internal SimEvent =
    | Arrive of Index: int
    | SourceDone of Flight: SimFlight * Outcome: Outcome
    | Deadline of Flight: SimFlight
    | WaitEnds of Flight: SimFlight * Waiter: SimWaiter * Soft: bool

/// The deterministic simulator: one node's memory level (unbounded: nothing is evicted) on a virtual clock.
/// It interprets the core's decisions (`Flight`, `Lifecycle`, `Commands`, `Work`) as the runtime does, with
/// virtual time for the sources' latencies and the callers' timeouts; it decides nothing itself.
module Simulator =
    /// The instant virtual time zero stands for (entries' clocks are UTC ticks from it).
    [<CompiledName("Epoch")>]
    let epoch: DateTimeOffset = DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)

    /// The simulated node's origin (`Order`): a real node's is drawn from its instance id; this one is above every
    /// timestamp, as most real nodes' are.
    let internal DefaultOrigin: int64 = 0x4000_0000_0000_0000L

    let private infinite = Timeout.InfiniteTimeSpan

    let private check (what: string) (problems: string array) =
        if problems.Length > 0 then invalidArg "script" $"""{what}: {String.Join("; ", problems)}"""

    let private validate (script: Script) =
        check "the script's options" (EntryOptions.validate script.Options)
        let checkSource (name: string) (s: Source) =
            let negative (r: SourceResponse) = r.Latency < TimeSpan.Zero || r.Latency = infinite
            if negative s.Normally || s.Windows |> List.exists (fun w -> negative w.Response) then
                invalidArg "script" $"the source of {name} has a negative or infinite latency"
        checkSource "every other key" script.DefaultSource
        script.Sources |> Map.iter (fun k s -> checkSource $"'{k}'" s)
        script.Requests
        |> List.iteri (fun i r ->
            if r.At < TimeSpan.Zero then invalidArg "script" $"request {i} arrives at {r.At}: before the start"
            if String.IsNullOrEmpty r.Request.Key then invalidArg "script" $"request {i} has a null or empty key"
            match r.Request with
            | Request.GetOrSet(_, Some o, _)
            | Request.Set(_, _, Some o)
            | Request.TryGet(_, Some o) -> check $"the options of request {i}" (EntryOptions.validate o)
            | _ -> ())

    let private toAnswer (reply: Reply) : Answer =
        match reply with
        | Reply.Value(payload, stale) -> Answer.Got(unbox<int> payload, stale)
        | Reply.Error err -> Answer.Failed err

    /// Runs `script` as the node with `origin`, calling `observe` after every event.
    let internal runWith (origin: int64) (observe: (Snapshot -> unit) voption) (script: Script) : SimulationResult =
        validate script
        let epochTicks = epoch.UtcTicks
        let mutable time = TimeSpan.Zero
        let now () = epochTicks + time.Ticks
        let mutable lastStamp = 0L
        // Clock.Stamp: now, but strictly after every stamp given before.
        let stamp (at: int64) =
            let s = max at (lastStamp + 1L)
            lastStamp <- s
            s
        let random =
            match script.Jitter with
            | Jitter.Seeded seed -> Random(seed)
            | _ -> Random(0)
        // Clock.Jitter: a draw in [0, JitterMaxDuration).
        let jitter (o: EntryOptions) =
            let max = o.JitterMaxDuration.Ticks
            if max <= 0L then 0L
            else
                match script.Jitter with
                | Jitter.Zero -> 0L
                | Jitter.Largest -> max - 1L
                | Jitter.Seeded _ -> random.NextInt64 max
        let requests = script.Requests |> List.toArray
        let memory = Dictionary<string, Entry>(StringComparer.Ordinal)
        let table = Dictionary<string, SimFlight>(StringComparer.Ordinal)
        let callsPerKey = Dictionary<string, int>(StringComparer.Ordinal)
        let calls = List<SourceCall>()
        let answers: Answered option array = Array.create requests.Length None
        let answered = HashSet<int>()
        let queue = PriorityQueue<SimEvent, struct (int64 * int * int64)>()
        let mutable sequence = int64 requests.Length
        let mutable timers = 0
        // Events at the same instant: sources first, then refresh deadlines, then callers' timeouts, then arrivals;
        // within a kind, in the order they were scheduled (arrivals: in script order).
        let schedule (at: TimeSpan) (event: SimEvent) =
            let rank =
                match event with
                | SourceDone _ -> 0
                | Deadline _ -> 1
                | WaitEnds _ -> 2
                | Arrive _ -> 3
            sequence <- sequence + 1L
            timers <- timers + 1
            queue.Enqueue(event, struct (at.Ticks, rank, sequence))
        let after (span: TimeSpan) = TimeSpan(Ticks.add time.Ticks span.Ticks)
        let sourceOf (key: string) =
            match Map.tryFind key script.Sources with
            | Some s -> s
            | None -> script.DefaultSource

        let get (key: string) : Entry voption =
            match memory.TryGetValue key with
            | true, e -> ValueSome e
            | _ -> ValueNone
        // MemoryLevel.ApplyLocked.
        let apply (key: string) (change: L1Change) =
            match change with
            | L1Change.Keep -> ()
            | L1Change.Put e -> if Lifecycle.supersedes (get key) e then memory[key] <- e
            | L1Change.Drop -> memory.Remove key |> ignore
            | L1Change.ExpireAt at ->
                match get key with
                | ValueSome held ->
                    match Lifecycle.expire at held with
                    | L1Change.Put e -> memory[key] <- e
                    | _ -> ()
                | ValueNone -> ()
        let closed = -1
        let mayLand (f: SimFlight) = Work.mayLand f.Superseded (f.Waiters = closed)
        // MemoryLevel.Land: a change derived from a flight lands only while it may.
        let land (f: SimFlight) (change: L1Change) =
            match change with
            | L1Change.Keep -> ()
            | _ -> if mayLand f then apply f.Key change
        // FlightTable.Leave: compare-and-remove.
        let leaveTable (f: SimFlight) =
            match table.TryGetValue f.Key with
            | true, current when obj.ReferenceEquals(current, f) -> table.Remove f.Key |> ignore
            | _ -> ()
        // MemoryLevel.Write: a local write supersedes the key's flight, then changes L1.
        let write (key: string) (change: L1Change) =
            match table.TryGetValue key with
            | true, f when Work.supersedes origin f.StartedAt Write.Local ->
                f.Superseded <- true
                leaveTable f
            | _ -> ()
            apply key change
        let answer (index: int) (a: Answer) =
            let r = requests[index]
            answers[index] <- Some { Index = index; Request = r.Request; At = r.At; AnsweredAt = time; Answer = a }
            answered.Add index |> ignore
        // FusionCache.ReplyOf.
        let replyOf (f: SimFlight) (w: SimWaiter) (ending: Ending) =
            w.Done <- true
            if ending.IsValue && not ending.IsStale then
                match ending.Payload with
                | null -> answer w.Index (toAnswer (Flight.replyFor w.Options (now ()) ValueNone w.Default ending))
                | payload -> answer w.Index (Answer.Got(unbox<int> payload, false))
            else
                let current = if ending.IsFailed then get f.Key else ValueNone
                answer w.Index (toAnswer (Flight.replyFor w.Options (now ()) current w.Default ending))
        // FlightLeader.Finish: the flight leaves the table, and every waiter still waiting gets its reply.
        let finish (f: SimFlight) (ending: Ending) =
            f.Ended <- true
            leaveTable f
            for w in f.Joined do
                if not w.Done then replyOf f w ending
        // FlightLeader.Settle and Apply.
        let settle (f: SimFlight) (outcome: Outcome) =
            match f.Run with
            | ValueSome run ->
                let settlement = Flight.settle f.Options (now ()) (jitter f.Options) run outcome
                land f settlement.Change
                finish f settlement.Ending
            | ValueNone -> ()
        // FlightLeader.Run: the plan, then the source.
        let start (f: SimFlight) =
            let at = now ()
            let s = stamp at
            f.StartedAt <- s
            let request =
                { Options = f.Options; Now = at; Timestamp = s; Origin = origin; Refresh = f.IsRefresh
                  Current = get f.Key; Default = f.Default; HasDistributed = false }
            match Flight.plan request with
            | FlightPlan.Answer(ending, change) ->
                land f change
                finish f ending
            | FlightPlan.ReadDistributed _ -> invalidOp "the simulator has no distributed level"
            | FlightPlan.RunFactory run ->
                f.Run <- ValueSome run
                let number = (match callsPerKey.TryGetValue f.Key with | true, n -> n | _ -> 0) + 1
                callsPerKey[f.Key] <- number
                let response = Source.responseAt time (sourceOf f.Key)
                calls.Add { Key = f.Key; Number = number; At = time; Response = response; IsRefresh = f.IsRefresh }
                let outcome =
                    match response with
                    | SourceResponse.Returns _ -> Outcome.Succeeded(box number, Validator.none)
                    | SourceResponse.Fails(_, message) -> Outcome.Failed(Err.Of(message: string))
                    | SourceResponse.Throws(_, message) -> Outcome.Failed(Err.Of(InvalidOperationException(message) :> exn))
                if response.Latency = TimeSpan.Zero then settle f outcome // a completed task: settled at once
                else
                    schedule (after response.Latency) (SourceDone(f, outcome))
                    if run.Deadline <> infinite then schedule (after run.Deadline) (Deadline f)
        // FusionCache.Wait: the caller's own limit.
        let wait (f: SimFlight) (w: SimWaiter) (seen: Entry voption) =
            if not w.Done then
                let struct (limit, soft) = Flight.waitLimit w.Options (now ()) seen w.Default
                if limit <> infinite then schedule (after limit) (WaitEnds(f, w, soft))
        let newFlight key (o: EntryOptions) dflt refresh waiters =
            { Key = key; Options = o; Default = dflt; IsRefresh = refresh
              CancelWhenAbandoned = not o.AllowTimedOutFactoryBackgroundCompletion && not refresh
              StartedAt = 0L; Waiters = waiters; Superseded = false; Ended = false; Run = ValueNone; Joined = List() }

        // FusionCache.GetOrSet: the hit path, NotFresh, then the flight table.
        let getOrSet (index: int) (key: string) (o: EntryOptions) (dflt: obj voption) =
            let seen = get key
            match seen with
            | ValueSome e when Entry.isFreshFor o.IsFailSafeEnabled (now ()) e && not o.SkipMemoryCacheRead ->
                answer index (Answer.Got(unbox<int> e.Value, e.IsStale))
            | _ ->
                let hit =
                    match seen with
                    | ValueSome e when Flight.readsMemory o ->
                        match Entry.classifyFor o.IsFailSafeEnabled (now ()) e with
                        | Fresh -> ValueSome(e, false)
                        | RefreshDue -> ValueSome(e, true)
                        | Stale | Dead -> ValueNone
                    | _ -> ValueNone
                match hit with
                | ValueSome(e, refreshDue) ->
                    answer index (Answer.Got(unbox<int> e.Value, e.IsStale))
                    // FlightTable.TryStartBackground, then the refresh (on the thread pool in the runtime).
                    if refreshDue && not (table.ContainsKey key) then
                        let f = newFlight key o dflt true 0
                        table[key] <- f
                        start f
                | ValueNone ->
                    let w = { Index = index; Options = o; Default = dflt; Done = false }
                    // FlightTable.Join: join the key's flight, or lead a new one.
                    let rec join () =
                        match table.TryGetValue key with
                        | true, f ->
                            if Work.mayJoin f.Superseded false && f.Waiters <> closed then
                                f.Waiters <- f.Waiters + 1
                                f.Joined.Add w
                                wait f w seen
                            else
                                leaveTable f
                                join ()
                        | _ ->
                            let f = newFlight key o dflt false 1
                            f.Joined.Add w
                            table[key] <- f
                            start f
                            wait f w seen
                    join ()

        let arrive (index: int) =
            let request = requests[index].Request
            let optionsOf (o: EntryOptions option) = defaultArg o script.Options
            match request with
            | Request.GetOrSet(key, o, dflt) ->
                getOrSet index key (optionsOf o) (match dflt with Some d -> ValueSome(box d) | None -> ValueNone)
            | Request.Set(key, value, o) ->
                let o = optionsOf o
                let at = now ()
                let s = stamp at
                let effects = Commands.set o at s (jitter o) origin false (box value)
                write key effects.Change
                answer index Answer.Done
            | Request.Remove key ->
                let effects = Commands.remove script.Options (stamp (now ())) origin false
                write key effects.Change
                answer index Answer.Done
            | Request.Expire key ->
                let at = now ()
                let effects = Commands.expire script.Options at (stamp at) origin false
                write key effects.Change
                answer index Answer.Done
            | Request.TryGet(key, o) ->
                let o = optionsOf o
                let found =
                    match get key with
                    | ValueSome e when Flight.readsMemory o && Entry.readableWithoutFactory o.AllowStaleOnReadOnly (now ()) e ->
                        Some(unbox<int> e.Value)
                    | _ -> None
                answer index (Answer.Found found)

        // FusionCache.WaitAsync's timeout: the caller leaves the flight, then gets its fallback or the timeout error.
        let timeOut (f: SimFlight) (w: SimWaiter) (soft: bool) =
            if not w.Done then
                f.Waiters <- f.Waiters - 1 // Flight.Leave: the last one out abandons a cancellable flight
                if f.Waiters = 0 && f.CancelWhenAbandoned then f.Waiters <- closed
                let struct (reply, change) = Flight.timedOut w.Options (now ()) (get f.Key) w.Default f.StartedAt origin soft
                land f change
                w.Done <- true
                answer w.Index (toAnswer reply)

        requests
        |> Array.iteri (fun i r -> queue.Enqueue(Arrive i, struct (r.At.Ticks, 3, int64 i)))
        let mutable event = Unchecked.defaultof<SimEvent>
        let mutable priority = Unchecked.defaultof<struct (int64 * int * int64)>
        while queue.TryDequeue(&event, &priority) do
            let struct (at, _, _) = priority
            time <- TimeSpan at
            let arrival =
                match event with
                | Arrive i ->
                    arrive i
                    ValueSome i
                | SourceDone(f, outcome) ->
                    if not f.Ended then settle f outcome // a refresh past its deadline has ended already
                    ValueNone
                | Deadline f ->
                    // FlightLeader.RunFactoryAsync: a refresh past its deadline is abandoned, then settled as timed out.
                    if not f.Ended then
                        f.Waiters <- closed
                        settle f Outcome.TimedOut
                    ValueNone
                | WaitEnds(f, w, soft) ->
                    timeOut f w soft
                    ValueNone
            match observe with
            | ValueNone -> ()
            | ValueSome observe ->
              observe
                { Time = time
                  Arrival = arrival
                  InFlight = table.Count
                  Entries = memory |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
                  Calls = calls.Count
                  Timers = timers
                  Answered = Set.ofSeq answered }
        { Answers = answers |> Array.choose id |> Array.toList
          SourceCalls = calls |> Seq.toList }

    /// Runs `script`: a pure function, the same script gives the same result. Throws `ArgumentException` for an
    /// invalid script (invalid options, a negative time or latency, an empty key).
    [<CompiledName("Run")>]
    let run (script: Script) : SimulationResult = runWith DefaultOrigin ValueNone script
