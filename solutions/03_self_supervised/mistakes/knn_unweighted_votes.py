"""k-NN with one vote per neighbour instead of exp(sim / T).

Question: q3
Message: the votes are not weighted
"""


def knn_classify(train_features, train_labels, test_features, k=20, temperature=0.1, num_classes=10):
    ftr = F.normalize(torch.as_tensor(train_features).detach().float(), dim=1)
    fte = F.normalize(torch.as_tensor(test_features).detach().float().to(ftr.device), dim=1)
    ytr = torch.as_tensor(train_labels).to(ftr.device).long()
    _, idx = (fte @ ftr.T).topk(min(k, len(ftr)), dim=1)
    votes = torch.zeros(len(fte), num_classes, device=ftr.device)
    votes.scatter_add_(1, ytr[idx], torch.ones(idx.shape, device=ftr.device))
    return votes.argmax(dim=1)
