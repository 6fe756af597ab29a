export function TrainView(): React.JSX.Element {
  return <div className="view" />
}
