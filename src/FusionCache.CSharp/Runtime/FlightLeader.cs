using Fusion.Core;
using Fusion.Distributed;
using LanguageExt;
using Microsoft.Extensions.Logging;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// The effect interpreter of one flight: asks the core for a plan, reads L2 and runs the factory as the
/// plan says, folds the outcome through the core, applies the L1 change, writes L2 and notifies, and
/// keeps a timed-out factory running for a background completion when the core says so. It makes no
/// lifecycle decision.
/// </summary>
internal sealed class FlightLeader(MemoryLevel memory, FlightTable flights, Clock clock, DistributedLevel? distributed, ILogger logger)
{
    /// <summary>Runs the flight to its reply; never throws, and always completes and unregisters the flight.
    /// The reply is also the result, so a leader whose run finished at once need not wait on the flight.</summary>
    /// <remarks>Each step is a plain method that goes on synchronously while what it waits for has already
    /// completed (an L1-only miss with a synchronous factory runs no async state machine at all) and hands
    /// over to an async twin at the first thing that is really pending.</remarks>
    public ValueTask<Reply> Run<T>(
        string key, Flight flight, Factory<T> factory,
        FSharpValueOption<object> fallbackDefault, EntryOptions options, bool refresh)
    {
        ValueTask<Reply> running;
        try
        {
            var now = clock.Now;
            var stamp = clock.Stamp(now);
            var plan = Core.Flight.plan(new FlightRequest(
                options, now, stamp, Clock.SequenceOf(stamp), refresh, memory.Get(key), fallbackDefault, distributed is not null));
            running = plan.IsReadDistributed ? ReadThenContinue(key, flight, factory, options, plan) : Continue(key, flight, factory, options, plan);
        }
        catch (Exception ex)
        {
            running = new(Failure(key, ex));
        }
        if (!running.IsCompletedSuccessfully) return FinishWhenDone(key, flight, running);
        var reply = running.Result;
        Finish(key, flight, reply);
        return new(reply);
    }

    private async ValueTask<Reply> ReadThenContinue<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FlightPlan plan)
    {
        var found = await distributed!.Read<T>(key, plan.SoftTimeout, plan.HardTimeout).ConfigureAwait(false);
        return await Continue(key, flight, factory, options, Core.Flight.afterDistributedRead(options, clock.Now, plan.Run, found)).ConfigureAwait(false);
    }

    private ValueTask<Reply> Continue<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FlightPlan plan)
    {
        if (plan.IsAnswer)
        {
            memory.Apply(key, plan.Change);
            return new(plan.Reply);
        }
        if (plan.IsRunFactory) return RunFactory(key, flight, factory, options, plan.Run);
        throw new System.Diagnostics.UnreachableException();
    }

    // Whatever happened (a bug of ours, a throwing log provider), the flight is unregistered and its
    // waiters answered: a stuck flight would block the key for good. Failure never throws.
    private async ValueTask<Reply> FinishWhenDone(string key, Flight flight, ValueTask<Reply> running)
    {
        Reply reply;
        try
        {
            reply = await running.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            reply = Failure(key, ex);
        }
        Finish(key, flight, reply);
        return reply;
    }

    private void Finish(string key, Flight flight, Reply reply)
    {
        try { flights.Leave(key, flight); }
        finally { flight.Complete(reply); }
    }

    // Only a bug of ours lands here; the waiters still get an answer.
    private Reply Failure(string key, Exception ex)
    {
        try { logger.LogError(ex, "Fusion: the flight for key {Key} failed unexpectedly", key); }
        catch (Exception) { } // a log provider's failure must not take the flight down with it
        return Reply.NewError(Err.Of(ex));
    }

    private ValueTask<Reply> RunFactory<T>(string key, Flight flight, Factory<T> factory, EntryOptions options, FactoryRun run)
    {
        var observed = FactoryRunner.Observe(factory, key, run.Fallback, flight.FactoryToken);
        if (!observed.IsCompleted) return RunFactoryAsync<T>(key, flight, options, run, observed.AsTask());
        // The factory completed at once: no timeout can apply, nothing to wait for but an L2 write.
        var settlement = Core.Flight.settle(options, clock.Now, clock.Jitter(options), run, observed.Result);
        var write = Apply<T>(key, settlement, options);
        return write.IsCompletedSuccessfully ? new(settlement.Reply) : AfterWrite(write, settlement.Reply);
    }

    private async ValueTask<Reply> RunFactoryAsync<T>(string key, Flight flight, EntryOptions options, FactoryRun run, Task<Outcome> running)
    {
        var outcome = await FactoryRunner.Within(running, run, clock.Time).ConfigureAwait(false);
        var settlement = Core.Flight.settle(options, clock.Now, clock.Jitter(options), run, outcome);
        await Apply<T>(key, settlement, options).ConfigureAwait(false);
        if (outcome.IsSoftTimedOut || outcome.IsHardTimedOut)
        {
            if (settlement.KeepFactoryRunning) _ = CompleteInBackground<T>(key, running, options, run);
            else flight.CancelFactory();
        }
        return settlement.Reply;
    }

    private static async ValueTask<Reply> AfterWrite(Task write, Reply reply)
    {
        await write.ConfigureAwait(false);
        return reply;
    }

    /// <summary>L1 first (callers of this node see the value at once), then L2 and the other nodes.</summary>
    private Task Apply<T>(string key, Settlement settlement, EntryOptions options)
    {
        if (!memory.Apply(key, settlement.Change))
            logger.LogDebug("Fusion: a result for key {Key} was older than the cached value and was dropped", key);
        return distributed is null ? Task.CompletedTask : distributed.Write<T>(key, settlement.Distributed, settlement.Notify, options);
    }

    /// <summary>A timed-out factory finished: its success lands only where nothing newer was written meanwhile.</summary>
    private async Task CompleteInBackground<T>(string key, Task<Outcome> observed, EntryOptions options, FactoryRun run)
    {
        var outcome = await observed.ConfigureAwait(false); // Observe never throws
        if (outcome.IsSucceeded)
        {
            var settlement = Core.Flight.completedInBackground(options, clock.Now, clock.Jitter(options), run, outcome.Value);
            await Apply<T>(key, settlement, options).ConfigureAwait(false);
        }
        else if (outcome.IsFailed)
        {
            logger.LogWarning("Fusion: the timed-out factory for key {Key} failed in the background: {Error}", key, outcome.Error.Message);
        }
    }
}
