// Fusion demo: what the cache does for you, on the embedded default (memory only, real clock).
// Counts are deterministic; timings (ms) vary from run to run.
using Demo;

Scene("1. Stampede: 1,000 concurrent callers on one cold key");
await StampedeScene.Run();

Scene("2. Source outage: fail-safe serves the last good value, then recovery");
await OutageScene.Run();

Scene("3. Slow source cut by a soft timeout");
await SlowSourceScene.Run();

Scene("4. Plain error: fail-safe off, the source fails");
await ErrorScene.Run();

Console.WriteLine();
Console.WriteLine("Done.");
return 0;

static void Scene(string title)
{
    Console.WriteLine();
    Console.WriteLine(title);
    Console.WriteLine(new string('-', title.Length));
}
