import { describe, expect, it } from "vitest";
import { ShareHistory } from "../../../dashboard/src/share-history.js";

const totals = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe("dashboard share of selections", () => {
  it("O9: each point is the share of the selections since the previous sample; none gives a gap", () => {
    const history = new ShareHistory(300);
    history.add(0, totals({ a: 10, b: 0 }));
    history.add(2, totals({ a: 20, b: 30 }));
    history.add(4, totals({ a: 20, b: 30 }));
    history.add(6, totals({ a: 21, b: 30, c: 3 }));
    const series = history.series();
    expect(series.backends).toEqual(["a", "b", "c"]);
    expect(series.times).toEqual([2, 4, 6]);
    expect(series.shares).toEqual([
      [25, null, 25],
      [75, null, 0],
      [0, null, 75],
    ]);
    expect(series.total).toBe(44);
  });

  it("O9: a total that went down (restarted server) counts from zero; samples past the window go", () => {
    const history = new ShareHistory(10);
    history.add(0, totals({ a: 100 }));
    history.add(5, totals({ a: 4 }));
    history.add(20, totals({ a: 6 }));
    history.add(22, totals({ a: 8 }));
    const series = history.series();
    expect(series.times).toEqual([20, 22]);
    expect(series.total).toBe(4);
  });
});
