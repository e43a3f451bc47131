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
    private static readonly Reply NoReply = Reply.NewError(Err.Of("the flight ended without a reply"));

    /// <summary>Runs the flight to its reply; never throws, and always completes and unregisters the flight.
    /// The reply is also the result, so a leader whose run finished at once need not wait on the flight.</summary>
    public async ValueTask<Reply> Run<T>(
        string key, Flight flight, Factory<T> factory,
        FSharpValueOption<object> fallbackDefault, EntryOptions options, bool refresh)
    {
        // Whatever happens (a bug of ours, a throwing log provider), the flight is unregistered and its
        // waiters answered in the finally: a stuck flight would block the key for good.
        var reply = NoReply;
        try
        {
            var plan = Core.Flight.plan(new FlightRequest(
                options, clock.Now, clock.Stamp(), clock.NextSequence(), refresh, memory.Get(key), fallbackDefault, distributed is not null));
            if (plan.IsReadDistributed)
            {
                var found = await distributed!.Read<T>(key, plan.SoftTimeout, plan.HardTimeout).ConfigureAwait(false);
                plan = Core.Flight.afterDistributedRead(options, clock.Now, plan.Run, found);
            }
            if (plan.IsAnswer)
            {
                memory.Apply(key, plan.Change);
                reply = plan.Reply;
            }
            else if (plan.IsRunFactory)
            {
                reply = await RunFactory(key, flight, factory, options, plan.Factory).ConfigureAwait(false);
            }
            else throw new System.Diagnostics.UnreachableException();
        }
        catch (Exception ex)
        {
            reply = Reply.NewError(Err.Of(ex));
            try { logger.LogError(ex, "Fusion: the flight for key {Key} failed unexpectedly", key); }
            catch (Exception) { } // a log provider's failure must not take the flight down with it
        }
        finally
        {
            flights.Leave(key, flight);
            flight.Complete(reply);
        }
        return reply;
    }

    private async ValueTask<Reply> RunFactory<T>(
        string key, Flight flight, Factory<T> factory, EntryOptions options, FactoryRun run)
    {
        var observed = FactoryRunner.Observe(factory, key, run.Fallback, flight.FactoryToken);
        // A factory that completed at once needs no timeout and no Task (nothing allocated for it).
        Task<Outcome>? running = null;
        Outcome outcome;
        if (observed.IsCompleted) outcome = observed.Result;
        else
        {
            running = observed.AsTask();
            outcome = await FactoryRunner.Within(running, run, clock.Time).ConfigureAwait(false);
        }
        var settlement = Core.Flight.settle(options, clock.Now, clock.Jitter(options), run, outcome);
        await Apply<T>(key, settlement, options).ConfigureAwait(false);
        if (outcome.IsSoftTimedOut || outcome.IsHardTimedOut)
        {
            if (settlement.KeepFactoryRunning) _ = CompleteInBackground<T>(key, running!, options, run);
            else flight.CancelFactory();
        }
        return settlement.Reply;
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
