using Fusion.Core;
using Microsoft.Extensions.Logging;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// The effect interpreter of one flight: asks the core for a plan, reads L2 and runs the factory as the
/// plan says, folds the outcome through the core, lands the changes while the flight is still the key's
/// current one (<see cref="MemoryLevel.Land"/>), writes L2 and notifies, and ends the flight. It makes no
/// lifecycle decision. The flight has no timeout of its own: each caller bounds its own wait
/// (<see cref="FusionCache"/>), and a factory that outlives them is a background completion.
/// </summary>
internal sealed class FlightLeader(MemoryLevel memory, FlightTable flights, Clock clock, IDistributedLevel? distributed, CacheDiagnostics diagnostics)
{
    private readonly ILogger logger = diagnostics.Logger;

    /// <summary>Runs the flight to its ending; never throws, and always ends and unregisters the flight.
    /// The ending is also the result, so a leader whose run finished at once need not wait on the flight.</summary>
    /// <remarks>Each step is a plain method that goes on synchronously while what it waits for has already
    /// completed (an L1-only miss with a synchronous factory runs no async state machine at all) and hands
    /// over to an async twin at the first thing that is really pending.</remarks>
    public ValueTask<Ending> Run<T>(
        string key, Flight flight, Factory<T> factory,
        FSharpValueOption<object> fallbackDefault, EntryOptions options, bool refresh)
    {
        ValueTask<Ending> running;
        try
        {
            var now = clock.Now;
            var stamp = clock.Stamp(now);
            flight.Begin(stamp);
            var plan = Core.Flight.plan(new FlightRequest(
                options, now, stamp, clock.Origin, refresh, memory.Get(key), fallbackDefault, distributed is not null));
            running = plan.IsReadDistributed ? ReadThenContinue(key, flight, factory, options, plan) : Continue(key, flight, factory, options, plan);
        }
        catch (Exception ex)
        {
            running = new(Failure(key, ex));
        }
        if (!running.IsCompletedSuccessfully) return FinishWhenDone(key, flight, running);
        var ending = running.Result;
        Finish(key, flight, ending);
        return new(ending);
    }

    private async ValueTask<Ending> ReadThenContinue<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FlightPlan plan)
    {
        var found = await distributed!.Read<T>(key, plan.SoftTimeout, plan.HardTimeout).ConfigureAwait(false);
        return await Continue(key, flight, factory, options, Core.Flight.afterDistributedRead(options, clock.Now, plan.Run, found)).ConfigureAwait(false);
    }

    private ValueTask<Ending> Continue<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FlightPlan plan)
    {
        if (plan.IsAnswer)
        {
            memory.Land(key, flight, plan.Change, out _);
            return new(plan.Ending);
        }
        if (plan.IsRunFactory) return RunFactory(key, flight, factory, options, plan.Run);
        throw new System.Diagnostics.UnreachableException();
    }

    // Whatever happened (a bug of ours, a throwing log provider), the flight is unregistered and its
    // waiters answered: a stuck flight would block the key for good. Failure never throws.
    private async ValueTask<Ending> FinishWhenDone(string key, Flight flight, ValueTask<Ending> running)
    {
        Ending ending;
        try
        {
            ending = await running.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ending = Failure(key, ex);
        }
        Finish(key, flight, ending);
        return ending;
    }

    private void Finish(string key, Flight flight, Ending ending)
    {
        try { flights.Leave(key, flight); }
        finally { flight.Complete(ending); }
    }

    // Only a bug of ours lands here; the waiters still get an answer (the logger never throws: SafeLogger).
    private Ending Failure(string key, Exception ex)
    {
        Log.FlightFailed(logger, LogText.Of(key), ex);
        return Ending.NewFailed(Err.Of(ex));
    }

    private ValueTask<Ending> RunFactory<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FactoryRun run)
    {
        var watch = diagnostics.FactoryStarting(key, run.Refresh);
        var observed = FactoryRunner.Observe(factory, key, run.Fallback, flight.FactoryToken(flights.Stopping), out var context);
        watch.Detach(); // the factory's span stays open until its outcome; this thread goes on with the flight
        if (!observed.IsCompleted) return RunFactoryAsync<T>(key, flight, options, run, observed.AsTask(), context, watch);
        return Settle<T>(key, flight, Factory<T>.Produced(options, context), run, observed.Result, watch);
    }

    private async ValueTask<Ending> RunFactoryAsync<T>(string key, Flight flight, EntryOptions options, FactoryRun run, Task<Outcome> running, FactoryContext<T>? context, FactoryWatch watch)
    {
        var outcome = await FactoryRunner.Within(running, run.Deadline, clock.Time).ConfigureAwait(false);
        if (outcome.IsTimedOut) flight.Abandon(); // a refresh past its deadline: its factory may not complete in the background
        // The factory has returned (or timed out): what it set on its context is final.
        return await Settle<T>(key, flight, Factory<T>.Produced(options, context), run, outcome, watch).ConfigureAwait(false);
    }

    private ValueTask<Ending> Settle<T>(string key, Flight flight, EntryOptions options, FactoryRun run, Outcome outcome, in FactoryWatch watch)
    {
        var now = clock.Now;
        var settlement = Core.Flight.settle(options, now, clock.Jitter(options), run, outcome);
        diagnostics.FactoryEnded(watch, outcome);
        if (settlement.Ending.IsFailed && !outcome.IsCancelled) Report(key, run, outcome, settlement.Ending, now);
        var write = Apply<T>(key, flight, settlement, options);
        return write.IsCompletedSuccessfully ? new(settlement.Ending) : AfterWrite(write, settlement.Ending);
    }

    /// <summary>A run that failed (an error, a refresh past its deadline): reported, and so is the fail-safe activation
    /// the core made of it, if any (what the ending carries is then the fallback one cycle further).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Report(string key, FactoryRun run, Outcome outcome, Ending ending, long now)
    {
        var error = ending.Error!;
        if (outcome.IsTimedOut)
            diagnostics.FactoryTimedOut(key, "refresh", run.Deadline, "the eager refresh is cancelled and the cached value kept", now);
        else
            diagnostics.FactoryFailed(key, error, now);
        var carried = ending.Fallback;
        if (carried.IsSome) diagnostics.FailSafeActivated(key, CacheDiagnostics.ActivationOf(carried.Value, run.Fallback), carried.Value, run.Fallback, error, now);
    }

    private static async ValueTask<Ending> AfterWrite(Task write, Ending ending)
    {
        await write.ConfigureAwait(false);
        return ending;
    }

    /// <summary>L1 first (callers of this node see the value at once), then L2 and the other nodes; nothing
    /// at all when the flight was superseded by a write or abandoned meanwhile.</summary>
    private Task Apply<T>(string key, Flight flight, Settlement settlement, EntryOptions options)
    {
        if (!memory.Land(key, flight, settlement.Change, out var stored))
        {
            Log.FlightSuperseded(logger, LogText.Of(key));
            return Task.CompletedTask;
        }
        if (!stored && settlement.Change.IsPut)
            Log.ResultDropped(logger, LogText.Of(key));
        return distributed is null ? Task.CompletedTask : distributed.Write<T>(key, settlement.Distributed, settlement.Notify, options);
    }
}
